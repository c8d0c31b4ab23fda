// Ring buffer readers (ringbuf.h): a native thread per ring buffer map polls it and hands its records to JS in
// batches (length-prefixed records) through a ThreadSafeFunction with a bounded queue.
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
 * into one batch: a batch as large as the ring (its vector up to twice that), and up to 16 of them queued towards
 * a JS side that was behind — native memory growing with the backlog. */
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

// Hands the current batch to JS. When JS is behind (the bounded queue is full) the poller waits instead of
// dropping: records then wait in the kernel ring buffer, whose overflow the programs count. Only a poller
// that is being stopped gives up (and counts what it could not deliver).
void Flush(RingPoller *p) {
  if (!p->current || p->current->records == 0) return;
  Batch *b = p->current.release();
  uint32_t records = b->records;
  napi_status s;
  for (;;) {
    s = p->tsfn.NonBlockingCall(b, [](Napi::Env env, Napi::Function cb, Batch *batch) {
      auto buf = Napi::Buffer<uint8_t>::Copy(env, batch->data.data(), batch->data.size());
      uint32_t n = batch->records;
      delete batch;
      cb.Call({buf, Napi::Number::New(env, n)});
    });
    if (s != napi_queue_full || !p->running) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (s != napi_ok) {
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
