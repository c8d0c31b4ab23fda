// Ring buffer readers (ringbuf.cc): one native thread per BPF ring buffer map polls it and hands batches of
// records to JS through a ThreadSafeFunction with a bounded queue (batches that do not fit are counted).
#pragma once
#include <napi.h>
#include <bpf/libbpf.h>
#include <atomic>
#include <chrono>
#include <cstdint>
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

struct RingPoller {
  std::string map;
  ring_buffer *rb = nullptr;
  std::thread thread;
  std::atomic<bool> running{false};
  Napi::ThreadSafeFunction tsfn;
  std::unique_ptr<Batch> current;
  size_t maxBatchBytes = 256 << 10;
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> droppedBatches{0};
  std::atomic<uint64_t> droppedRecords{0};
};

using RingPollers = std::vector<std::unique_ptr<RingPoller>>;

/** ringbufStart(handle, map, callback, maxQueue = 16) of the object `obj`, whose pollers are `pollers`. */
Napi::Value StartRingPoller(const Napi::CallbackInfo &info, bpf_object *obj, RingPollers &pollers);

/** ringbufStats(handle, map?) over `pollers`. */
Napi::Value RingPollerStats(const Napi::CallbackInfo &info, const RingPollers &pollers);

/** Stops and frees every poller (the object's close, or the addon's cleanup), delivering what they hold. */
void StopRingPollers(RingPollers &pollers);

}  // namespace sextant
