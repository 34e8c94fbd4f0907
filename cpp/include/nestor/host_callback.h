// nestor/host_callback.h: the "host_callback" op calls a function of the program that embeds
// the runtime (nestor's Python layer registers one to run tf.py_function / tf.numpy_function).
// The op names the function by an integer token; the embedding program keeps the table. A
// graph that holds the op runs only where such a callback is set (a C++ service loading an
// export has none, and the op then fails with a message saying so).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nestor/tensor.h"

namespace nestor {

// Computes the outputs of the host_callback node `node_name` whose function is `token` from
// its inputs (host tensors). Errors are thrown as nestor::Error.
using HostCallback =
    std::function<std::vector<Tensor>(int64_t token, const std::string& node_name, const std::vector<Tensor>& inputs)>;

// Sets (or, with an empty function, clears) the process's callback.
void set_host_callback(HostCallback callback);

}  // namespace nestor
