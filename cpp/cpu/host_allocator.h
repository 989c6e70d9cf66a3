// Host memory for CPU tensors: 64-byte aligned blocks, recycled by size class.
//
// Why not malloc per tensor: dropped tensors come back in batches when the garbage collector runs,
// and glibc's memalign then fragments its heap (a synchronous loop making 4 MB tensors grew by
// 4 MB an iteration although every dropped one was freed); fresh pages also cost a page fault each.
// Recycled blocks are warm and never fragment: an eager loop asks for the same sizes every step.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace tinynn::cpu {

class HostAllocator {
 public:
  // At most this many bytes of released blocks are kept for reuse, each at most kLargestCached;
  // the rest go back to the system at once. An eager step's tensors fit; a dropped dataset or
  // weight matrix of tens of MB is returned.
  static constexpr size_t kCacheLimit = size_t{128} << 20;
  static constexpr size_t kLargestCached = size_t{16} << 20;

  // The process-wide allocator (never destroyed: tensors may be freed during exit).
  static HostAllocator& instance();

  // Throws OutOfMemory.
  void* allocate(size_t bytes);
  void release(void* p) noexcept;

  // Bytes held in released blocks waiting for reuse.
  size_t cached_bytes() const;

 private:
  struct Bucket {
    size_t block_bytes;
    std::vector<void*> blocks;
  };
  Bucket& bucket(size_t block_bytes);

  mutable std::mutex mutex_;
  std::vector<Bucket> buckets_;
  size_t cached_ = 0;
};

// The block size (size class) that holds `bytes` plus the header: multiples of 64 up to 512, then four classes
// per power of two (at most 25 % unused).
size_t host_block_size(size_t bytes);

}  // namespace tinynn::cpu
