#include "cpp/backend.h"

#include <algorithm>
#include <string>

#include "cpp/errors.h"
#include "cpp/step_executor.h"

namespace tinynn {

std::atomic<uint64_t>& host_sync_count() {
  static std::atomic<uint64_t> count{0};
  return count;
}

std::unique_ptr<StepExecutor> Backend::fused_executor(const StepPlan&, const FusionOptions&) { return nullptr; }

Broadcast broadcast_shapes(const int64_t* a, int a_rank, const int64_t* b, int b_rank) {
  const int rank = std::max(a_rank, b_rank);
  if (rank > kMaxRank) {
    throw RangeError("broadcasting supports at most " + std::to_string(kMaxRank) + " dimensions, got " +
                     std::to_string(rank));
  }
  Broadcast bc;
  bc.rank = rank;
  int64_t a_step = 1, b_step = 1;
  // Right-aligned, as numpy and PyTorch do: dimension d of out is a's d - (rank - a_rank).
  for (int d = rank - 1; d >= 0; --d) {
    const int da = d - (rank - a_rank), db = d - (rank - b_rank);
    const int64_t na = da >= 0 ? a[da] : 1, nb = db >= 0 ? b[db] : 1;
    if (na != nb && na != 1 && nb != 1) {
      throw RangeError("shapes do not broadcast: size " + std::to_string(na) + " against " + std::to_string(nb) +
                       " in dimension " + std::to_string(d));
    }
    bc.shape[d] = std::max(na, nb);
    if (na == 0 || nb == 0) bc.shape[d] = 0;
    bc.a_stride[d] = na == 1 ? 0 : a_step;
    bc.b_stride[d] = nb == 1 ? 0 : b_step;
    a_step *= na;
    b_step *= nb;
  }
  return bc;
}

bool is_elementwise(const Broadcast& bc) {
  int64_t step = 1;
  for (int d = bc.rank - 1; d >= 0; --d) {
    if (bc.shape[d] != 1 && (bc.a_stride[d] != step || bc.b_stride[d] != step)) return false;
    step *= bc.shape[d];
  }
  return true;
}

Broadcast elementwise_shape(int64_t n) {
  Broadcast bc;
  bc.rank = 1;
  bc.shape[0] = n;
  bc.a_stride[0] = 1;
  bc.b_stride[0] = 1;
  return bc;
}

Broadcast row_broadcast(int64_t rows, int64_t cols) {
  Broadcast bc;
  bc.rank = 2;
  bc.shape[0] = rows;
  bc.shape[1] = cols;
  bc.a_stride[0] = cols;
  bc.a_stride[1] = 1;
  bc.b_stride[0] = 0;
  bc.b_stride[1] = 1;
  return bc;
}

void require_optimizer_states(const ParamUpdate* params, int count, const OptimizerConfig& config) {
  const int states = config.state_count();
  for (int t = 0; t < count; ++t) {
    for (int k = 0; k < states; ++k) {
      if (params[t].n != 0 && !params[t].state[k]) {
        throw RangeError("optimizer update: parameter " + std::to_string(t) + " lacks state tensor " + std::to_string(k) +
                         " of the " + std::to_string(states) + " its optimizer keeps");
      }
    }
  }
}

}  // namespace tinynn
