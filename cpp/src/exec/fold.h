// exec/fold.h: compile-time folding of a Plan (called once from Session::compile).
//
// A step whose value cannot change between runs is evaluated once, while compiling, and
// its outputs become constants of the plan (Plan::constants, put into their slots before
// the first step of every run), so it costs nothing at run time. A step folds when its
// node is not stateful, not fed in this plan, not a source of outside values
// (placeholder, placeholder_with_default, variable), has no ref or control inputs, and
// every input is a constant or folded; `shape` also folds when its input's static shape
// is fully defined. Folded outputs larger than kMaxFoldedBytes stay steps (const nodes
// always fold: their value is the graph's own buffer, not a copy). A step whose kernel
// fails while folding is left in the plan, so its error surfaces at run time as before.
#pragma once

#include <cstddef>

#include "nestor/session.h"

namespace nestor {

constexpr size_t kMaxFoldedBytes = 64 * 1024;

// Rewrites `plan` in place: removes folded steps, fills plan.constants, recomputes the
// release lists. Kernels run on the CPU with `session`'s thread pool.
void fold_plan(Session& session, Plan& plan);

}  // namespace nestor
