// io/export.cc: the readers of an export's files (see io/export.h).
#include "io/export.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

#include "io/json.h"
#include "nestor/error.h"

namespace nestor {
namespace io {

std::string read_file(const std::string& path, size_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(Code::kNotFound, path, " cannot be opened");
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  if (size < 0) fail(Code::kDataLoss, path, ": cannot determine its size");
  if (static_cast<uint64_t>(size) > max_bytes)
    fail(Code::kDataLoss, path, ": ", size, " bytes exceeds the limit of ", max_bytes);
  f.seekg(0, std::ios::beg);
  std::string s(static_cast<size_t>(size), '\0');
  if (size > 0 && !f.read(&s[0], size)) fail(Code::kDataLoss, path, ": read failed");
  return s;
}

namespace {

DType safetensors_dtype(const std::string& s) {
  if (s == "F32") return DType::kFloat32;
  if (s == "F64") return DType::kFloat64;
  if (s == "I32") return DType::kInt32;
  if (s == "I64") return DType::kInt64;
  if (s == "BOOL") return DType::kBool;
  return DType::kInvalid;
}

int64_t nonneg_int(const json::Value& v, const std::string& what) {
  if (!v.is_number() || !v.is_int || v.integer < 0) fail(Code::kDataLoss, what, " must be a non-negative integer");
  return v.integer;
}

}  // namespace

std::map<std::string, Tensor> parse_safetensors(const std::string& bytes, const std::string& what) {
  if (bytes.size() < 8) fail(Code::kDataLoss, what, ": file of ", bytes.size(), " bytes is too short for a header");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  if (n > bytes.size() - 8)
    fail(Code::kDataLoss, what, ": header length ", n, " exceeds the file size ", bytes.size());
  const size_t data_start = 8 + static_cast<size_t>(n);
  const uint64_t data_size = bytes.size() - data_start;
  json::Value header = json::parse(bytes.data() + 8, static_cast<size_t>(n), what + " header");
  if (!header.is_object()) fail(Code::kDataLoss, what, ": header is not a JSON object");
  std::map<std::string, Tensor> out;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& kv : header.object) {
    const std::string& name = kv.first;
    if (name == "__metadata__") {
      if (!kv.second.is_object()) fail(Code::kDataLoss, what, ": __metadata__ is not an object");
      continue;
    }
    const std::string where = what + ": tensor '" + name + "'";
    const json::Value& e = kv.second;
    const json::Value* dt = e.find("dtype");
    const json::Value* shape = e.find("shape");
    const json::Value* offs = e.find("data_offsets");
    if (!e.is_object() || !dt || !shape || !offs) fail(Code::kDataLoss, where, " needs dtype, shape and data_offsets");
    if (!dt->is_string()) fail(Code::kDataLoss, where, ": dtype must be a string");
    DType dtype = safetensors_dtype(dt->string);
    if (dtype == DType::kInvalid) fail(Code::kDataLoss, where, ": unsupported dtype '", dt->string, "'");
    if (!shape->is_array()) fail(Code::kDataLoss, where, ": shape must be an array");
    Dims dims;
    uint64_t count = 1;
    const uint64_t limit = std::numeric_limits<int64_t>::max() / 8;
    for (const auto& d : shape->array) {
      int64_t x = nonneg_int(d, where + " shape entries");
      dims.push_back(x);
      if (x != 0 && count > limit / static_cast<uint64_t>(x)) fail(Code::kDataLoss, where, ": shape is too large");
      count *= static_cast<uint64_t>(x);
    }
    if (!offs->is_array() || offs->array.size() != 2) fail(Code::kDataLoss, where, ": data_offsets must be [begin, end]");
    uint64_t b = static_cast<uint64_t>(nonneg_int(offs->array[0], where + " data_offsets"));
    uint64_t en = static_cast<uint64_t>(nonneg_int(offs->array[1], where + " data_offsets"));
    if (b > en || en > data_size)
      fail(Code::kDataLoss, where, ": data_offsets [", b, ", ", en, "] outside the data of ", data_size, " bytes");
    uint64_t want = count * dtype_size(dtype);
    if (en - b != want)
      fail(Code::kDataLoss, where, ": data_offsets span ", en - b, " bytes, its dtype and shape need ", want);
    ranges.emplace_back(b, en);
    Tensor t = Tensor::empty(dtype, dims);
    if (want) std::memcpy(t.raw(), bytes.data() + data_start + b, static_cast<size_t>(want));
    if (dtype == DType::kBool) {
      const unsigned char* p = static_cast<const unsigned char*>(t.raw());
      for (uint64_t i = 0; i < count; ++i)
        if (p[i] > 1) fail(Code::kDataLoss, where, ": invalid bool byte ", int(p[i]), " at element ", i);
    }
    out.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second && ranges[i].first != ranges[i].second)
      fail(Code::kDataLoss, what, ": tensors overlap at byte ", ranges[i].first);
  return out;
}

}  // namespace io
}  // namespace nestor
