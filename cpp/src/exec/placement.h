// exec/placement.h: device placement of a compiled plan, for sessions whose device is
// not the CPU (a CPU session's plan is never touched, so the CPU path pays nothing).
//
// Rules (planned once, at compile time):
// - A node runs on the session's device when its op has a kernel there that supports it, no input or
//   output is a string, and the node was not pinned to the CPU (Node::device "cpu");
//   else on the CPU.
// - A variable lives on the session's device when every op in the graph that updates it
//   (ref inputs) can run there, else on the host; the variable node and its updates run
//   where it lives. Values already held are moved on the first compile that decides.
// - Kernel inputs/outputs declared as host memory (register_kernel_placement) stay on the
//   host; a kernel whose `supports` rejects a node leaves that node on the CPU.
// - Where a value crosses devices a copy step is inserted before its first consumer on
//   the other side and shared by later ones. Constants consumed on the device are copied
//   once, at compile time. A feed may arrive on the host or on any device: every reader
//   reads it through a copy step that passes it on untouched when it is already where the
//   reader runs (a feed on the session's device is used in place) and copies it otherwise
//   (host -> device, device -> host, or between GPUs). Fetches are copied back to the host
//   at the end of the step (the only device waits of a step) unless the plan was compiled
//   with fetches_on_device.
#pragma once

#include "nestor/session.h"

namespace nestor {

// Rewrites `plan` (compiled by `s` for graph `g`) for s.device(): chooses each step's
// kernel and allocator, inserts copy steps and recomputes when each slot is released.
void place_plan(Session& s, const Graph& g, Plan& plan);

}  // namespace nestor
