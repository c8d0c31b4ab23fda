// Ring buffer readers (ringbuf.h): a native thread per ring buffer map polls it and hands its records to JS in
// batches (length-prefixed records) through a ThreadSafeFunction, at most maxQueue of them a turn of the loop (Flush).
#include "ringbuf.h"

#include "addon.h"

#include <cerrno>

namespace sextant {
namespace {

/* A steady trickle (one record every 50 ms or more often) never leaves the ring quiet for a whole drain, so
 * without an age bound a batch waited for 256 KiB: a minute and more at a few dozen records a second, and
 * a server that was killed meanwhile had no /proc left to be named from when its connections reached JS. */
constexpr auto kMaxBatchAge = std::chrono::milliseconds(100);

/* OnRecord's "stop consuming: the batch is full". libbpf has already consumed the record it was called with (it is
 * in the batch); the rest stays in the ring for the next poll. Without it one poll read everything the ring held
 * into one batch: a batch as large as the ring (its vector up to twice that) handed to a JS side that was behind —
 * native memory growing with the backlog. */
constexpr int kBatchFull = -ENOBUFS;

int OnRecord(void *ctx, void *data, size_t size) {
  RingPoller *p = static_cast<RingPoller *>(ctx);
  if (!p->current) p->current = std::make_unique<Batch>();
  uint32_t len = (uint32_t)size;
  auto &v = p->current->data;
  const uint8_t *lp = reinterpret_cast<const uint8_t *>(&len);
  v.insert(v.end(), lp, lp + 4);
  v.insert(v.end(), (uint8_t *)data, (uint8_t *)data + size);
  p->current->records++;
  return v.size() >= p->maxBatchBytes ? kBatchFull : 0;
}

void Release(InFlight &f) {
  std::lock_guard<std::mutex> lock(f.mu);
  f.n--;
  f.done.notify_one();
}

// Hands the current batch to JS once fewer than maxInFlight (ringbufStart's maxQueue) are in JS. Node runs a
// thread-safe function's calls back to back (up to 1,000 in one turn of its event loop, and again whenever one was
// queued while JS ran), so a reader that kept a queue of 16 full ran JS batch after batch while timers and I/O
// waited: the L7 engine's closed connections were not flushed, the shipper did not send, and the heap grew with the
// backlog (close-full: ~190 MB of old space in 8 s). So a batch counts as done only at the end of its turn of the
// loop (setImmediate, after that turn's I/O): a turn runs at most maxInFlight of one ring, then timers and I/O (the
// L7 ring 1, the TCP ring 16: cheap events, and at 256 KiB a turn behind full-mode L7 batches it overflowed). While
// JS is behind, the reader waits and records wait in the kernel ring buffer, whose overflow the programs count. Only
// a poller that is being stopped stops waiting (and counts what it could not deliver).
void Flush(RingPoller *p) {
  if (!p->current || p->current->records == 0) return;
  std::shared_ptr<InFlight> inFlight = p->inFlight;
  {
    std::unique_lock<std::mutex> lock(inFlight->mu);
    while (inFlight->n >= p->maxInFlight && p->running) inFlight->done.wait_for(lock, std::chrono::milliseconds(50));
    inFlight->n++;
  }
  Batch *b = p->current.release();
  uint32_t records = b->records;
  napi_status s;
  for (;;) {
    s = p->tsfn.NonBlockingCall(b, [inFlight](Napi::Env env, Napi::Function cb, Batch *batch) {
      auto buf = Napi::Buffer<uint8_t>::Copy(env, batch->data.data(), batch->data.size());
      uint32_t n = batch->records;
      delete batch;
      try {
        cb.Call({buf, Napi::Number::New(env, n)});
        auto done = Napi::Function::New(env, [inFlight](const Napi::CallbackInfo &) { Release(*inFlight); });
        env.Global().Get("setImmediate").As<Napi::Function>().Call({done});
      } catch (...) {
        Release(*inFlight);
        throw;
      }
    });
    if (s != napi_queue_full || !p->running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (s != napi_ok) {
    Release(*inFlight);
    delete b;
    p->droppedBatches++;
    p->droppedRecords += records;
  } else {
    p->delivered += records;
  }
}

}  // namespace

Napi::Value StartRingPoller(const Napi::CallbackInfo &info, bpf_object *obj, RingPollers &pollers) {
  std::string name = info[1].As<Napi::String>();
  Napi::Function cb = info[2].As<Napi::Function>();
  uint32_t maxQueue = info.Length() > 3 ? info[3].As<Napi::Number>().Uint32Value() : 16;
  for (auto &existing : pollers)
    if (existing->map == name) return ErrnoValue(info.Env(), EBUSY);
  bpf_map *m = bpf_object__find_map_by_name(obj, name.c_str());
  if (!m) return ErrnoValue(info.Env(), ENOENT);
  auto p = std::make_unique<RingPoller>();
  p->map = name;
  p->maxInFlight = maxQueue > 0 ? maxQueue : 1;
  p->rb = ring_buffer__new(bpf_map__fd(m), OnRecord, p.get(), nullptr);
  long err = libbpf_get_error(p->rb);
  if (!p->rb || err) return ErrnoValue(info.Env(), err ? (int)err : errno);
  p->tsfn = Napi::ThreadSafeFunction::New(info.Env(), cb, "sextant-ringbuf", maxQueue, 1);
  p->running = true;
  RingPoller *raw = p.get();
  p->thread = std::thread([raw]() {
    while (raw->running) {
      // The programs wake us only when much is pending; drain whatever is there every 50 ms regardless.
      int n = ring_buffer__poll(raw->rb, 50);
      if (n == 0) n = ring_buffer__consume(raw->rb);
      bool full = n == kBatchFull;
      if (n < 0 && n != -EINTR && !full) break;
      // Deliver in chunks: flush when the batch is full, the ring went quiet or the batch is kMaxBatchAge old.
      if (raw->current && (n == 0 || full || raw->current->data.size() >= raw->maxBatchBytes ||
                           std::chrono::steady_clock::now() - raw->current->started >= kMaxBatchAge))
        Flush(raw);
    }
    Flush(raw);
  });
  pollers.push_back(std::move(p));
  return Napi::Number::New(info.Env(), 0);
}

// Delivery counters of one ring buffer's poller (by map name), or summed over all of them.
Napi::Value RingPollerStats(const Napi::CallbackInfo &info, const RingPollers &pollers) {
  std::string only = info.Length() > 1 && info[1].IsString() ? std::string(info[1].As<Napi::String>()) : std::string();
  double delivered = 0, droppedBatches = 0, droppedRecords = 0;
  for (auto &p : pollers) {
    if (!only.empty() && p->map != only) continue;
    delivered += (double)p->delivered;
    droppedBatches += (double)p->droppedBatches;
    droppedRecords += (double)p->droppedRecords;
  }
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("delivered", Napi::Number::New(info.Env(), delivered));
  r.Set("droppedBatches", Napi::Number::New(info.Env(), droppedBatches));
  r.Set("droppedRecords", Napi::Number::New(info.Env(), droppedRecords));
  return r;
}

void StopRingPollers(RingPollers &pollers) {
  for (auto &p : pollers) {
    p->running = false;
    if (p->thread.joinable()) p->thread.join();
    ring_buffer__free(p->rb);
    p->tsfn.Release();
  }
  pollers.clear();
}

}  // namespace sextant
