// exec/fuse.h: kernel fusion in compiled plans (called from Session::compile after folding
// on CPU sessions, after placement on device sessions).
//
// matmul -> bias_add [-> relu] chains in float32 become one `_fused_matmul` step that adds
// the bias and applies the activation while the product's tiles are in registers (small
// products) or on the BLAS output (bias prefilled, beta = 1); on CUDA in the GEMM's
// epilogue (cuBLASLt): no intermediate tensors, no extra passes over memory. A chain fuses
// only when each intermediate value is read by the next op alone and is not fetched, when no
// node has a control dependency on the fused-away nodes, and when both matmul inputs are 2-D.
// The graph is unchanged: the fused step's node is owned by the plan and takes the last op's
// output slot, so fetches and consumers see the same values.
//
// relu_grad -> bias_add_grad (float32, 2-D) becomes one `_fused_relu_bias_grad` step that
// writes dz and db in one pass. dz has other readers (the layer's two backward products),
// so the fused step gets two new adjacent slots and its readers and fetches are moved there.
//
// Devices: a step runs on its allocator's device (placement sets one per step), else on the
// session's. A chain fuses only when all its steps run on one device that has a kernel for
// the fused op (whose placement declaration, if any, keeps every input on the device and
// accepts the node); the fused step gets that kernel and the chain's allocator. A relu on
// another device than its matmul -> bias_add is left out of the chain.
#pragma once

#include <map>

#include "nestor/session.h"

namespace nestor {

// session_device: the device of steps with no allocator of their own (all steps of a CPU
// session's plan).
void fuse_plan(Plan& plan, Device session_device);

// For CPU sessions whose variables never change once compiled (SessionOptions::
// constant_variables, set when serving an export): every CPU `_fused_matmul` step whose weights
// are a variable's value (or a folded constant) gets a fourth input, those weights laid out
// once as the direct GEMM kernel's 16-column panels (blas::pack_b_panels), a plan constant.
// The kernel reads them for batches of 2 to kPanelMaxRows rows, where re-packing the weights
// on every call was a quarter of a batch-64 MLP's time; batch 1 keeps the matrix-vector path.
// `cache` (weight buffer -> panels) lets the plans of one session share the panels.
void pack_constant_weights(Plan& plan, std::map<const void*, std::pair<Tensor, Tensor>>& cache);

// Rebuilds every step's release list: each slot is dropped after the last step that reads or
// writes it; fetched slots are kept. Returns the slots some step reads.
std::vector<char> recompute_releases(Plan& plan);

}  // namespace nestor
