// The seeded shuffle of an epoch: the same permutation on every platform and backend, so the
// eager DataLoader and the training driver visit samples in the same order.
#pragma once
#include <cstdint>
#include <vector>

namespace tinynn {

// A permutation of [0, n) drawn from (seed, epoch) by Fisher–Yates over splitmix64.
void epoch_permutation(uint64_t seed, uint64_t epoch, int32_t* out, int32_t n);

}  // namespace tinynn
