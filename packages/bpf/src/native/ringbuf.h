// Ring buffer readers (ringbuf.cc): one native thread per BPF ring buffer map polls it and hands batches of
// records to JS through a ThreadSafeFunction, at most maxQueue batches a turn of the event loop (a poller being stopped
// counts what it could not deliver).
#pragma once
#include <napi.h>
#include <bpf/libbpf.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace sextant {

struct Batch {
  std::vector<uint8_t> data;
  uint32_t records = 0;
  /** When its first record was read: a batch is handed to JS at most kMaxBatchAge later (ringbuf.cc). */
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

/* Batches handed to JS and not yet done (ringbuf.cc: at most the poller's maxInFlight). Shared with the calls in the
 * queue, which may run after the poller is gone. */
struct InFlight {
  std::mutex mu;
  std::condition_variable done;
  uint32_t n = 0;
};

struct RingPoller {
  std::string map;
  ring_buffer *rb = nullptr;
  std::thread thread;
  std::atomic<bool> running{false};
  Napi::ThreadSafeFunction tsfn;
  std::unique_ptr<Batch> current;
  std::shared_ptr<InFlight> inFlight = std::make_shared<InFlight>();
  size_t maxBatchBytes = 256 << 10;
  /** Batches in JS at once, at most: what one turn of the event loop runs of this ring. */
  uint32_t maxInFlight = 1;
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> droppedBatches{0};
  std::atomic<uint64_t> droppedRecords{0};
};

using RingPollers = std::vector<std::unique_ptr<RingPoller>>;

/** ringbufStart(handle, map, callback, maxQueue = 16: queue and batches in flight) of `obj`. */
Napi::Value StartRingPoller(const Napi::CallbackInfo &info, bpf_object *obj, RingPollers &pollers);

/** ringbufStats(handle, map?) over `pollers`. */
Napi::Value RingPollerStats(const Napi::CallbackInfo &info, const RingPollers &pollers);

/** Stops and frees every poller (the object's close, or the addon's cleanup), delivering what they hold. */
void StopRingPollers(RingPollers &pollers);

}  // namespace sextant
