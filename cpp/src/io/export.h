// io/export.h: readers for the files of an export (see nestor/predictor.h).
#pragma once

#include <map>
#include <string>

#include "nestor/tensor.h"

namespace nestor {
namespace io {

// Reads a whole file; NotFound if it cannot be opened, DataLoss if larger than max_bytes.
std::string read_file(const std::string& path, size_t max_bytes);

// Parses a safetensors file held in `bytes` (F32, F64, I32, I64, BOOL). Every header
// field is checked against the data size; tensors may not overlap. `what` names the
// file in DataLoss errors.
std::map<std::string, Tensor> parse_safetensors(const std::string& bytes, const std::string& what);

}  // namespace io
}  // namespace nestor
