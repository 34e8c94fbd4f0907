// nestor/dtype.h: element types. Strings live on the CPU only; a string tensor's
// buffer holds std::string objects constructed in place (see Buffer).
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <string>

namespace nestor {

enum class DType : uint8_t {
  kFloat32 = 0,
  kFloat64 = 1,
  kInt32 = 2,
  kInt64 = 3,
  kBool = 4,
  kString = 5,
  kInvalid = 255,
};

size_t dtype_size(DType t);
const char* dtype_name(DType t);    // "float32", ...
DType dtype_from_name(const std::string& name);  // throws InvalidArgument
inline bool is_floating(DType t) { return t == DType::kFloat32 || t == DType::kFloat64; }
inline bool is_integer(DType t) { return t == DType::kInt32 || t == DType::kInt64; }
inline bool is_numeric(DType t) { return is_floating(t) || is_integer(t); }

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kFloat32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kFloat64; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kInt32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kInt64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };
template <> struct DTypeOf<std::string> { static constexpr DType value = DType::kString; };

// Calls f.template operator()<T>() for the C++ type of `t` among the listed groups.
#define NESTOR_DISPATCH_CASE(DT, T, ...) \
  case DT: {                             \
    using scalar_t = T;                  \
    __VA_ARGS__();                       \
    break;                               \
  }

// NESTOR_DISPATCH_FLOAT(dtype, name, [&]{ ... scalar_t ... })
#define NESTOR_DISPATCH_FLOAT(DT, NAME, ...)                                              \
  switch (DT) {                                                                           \
    NESTOR_DISPATCH_CASE(::nestor::DType::kFloat32, float, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kFloat64, double, __VA_ARGS__)                  \
    default:                                                                              \
      ::nestor::fail(::nestor::Code::kInvalidArgument, NAME, ": unsupported dtype ",      \
                     ::nestor::dtype_name(DT), ", expected float32 or float64");          \
  }

#define NESTOR_DISPATCH_NUMERIC(DT, NAME, ...)                                            \
  switch (DT) {                                                                           \
    NESTOR_DISPATCH_CASE(::nestor::DType::kFloat32, float, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kFloat64, double, __VA_ARGS__)                  \
    NESTOR_DISPATCH_CASE(::nestor::DType::kInt32, int32_t, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kInt64, int64_t, __VA_ARGS__)                   \
    default:                                                                              \
      ::nestor::fail(::nestor::Code::kInvalidArgument, NAME, ": unsupported dtype ",      \
                     ::nestor::dtype_name(DT), ", expected a numeric type");              \
  }

#define NESTOR_DISPATCH_INDEX(DT, NAME, ...)                                              \
  switch (DT) {                                                                           \
    NESTOR_DISPATCH_CASE(::nestor::DType::kInt32, int32_t, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kInt64, int64_t, __VA_ARGS__)                   \
    default:                                                                              \
      ::nestor::fail(::nestor::Code::kInvalidArgument, NAME, ": index dtype must be int32 or int64, got ", \
                     ::nestor::dtype_name(DT));                                           \
  }

// Every dtype whose elements are trivially copyable (all but string).
#define NESTOR_DISPATCH_POD(DT, NAME, ...)                                                \
  switch (DT) {                                                                           \
    NESTOR_DISPATCH_CASE(::nestor::DType::kFloat32, float, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kFloat64, double, __VA_ARGS__)                  \
    NESTOR_DISPATCH_CASE(::nestor::DType::kInt32, int32_t, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kInt64, int64_t, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kBool, bool, __VA_ARGS__)                       \
    default:                                                                              \
      ::nestor::fail(::nestor::Code::kInvalidArgument, NAME, ": unsupported dtype ",      \
                     ::nestor::dtype_name(DT));                                           \
  }

#define NESTOR_DISPATCH_ALL(DT, NAME, ...)                                                \
  switch (DT) {                                                                           \
    NESTOR_DISPATCH_CASE(::nestor::DType::kFloat32, float, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kFloat64, double, __VA_ARGS__)                  \
    NESTOR_DISPATCH_CASE(::nestor::DType::kInt32, int32_t, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kInt64, int64_t, __VA_ARGS__)                   \
    NESTOR_DISPATCH_CASE(::nestor::DType::kBool, bool, __VA_ARGS__)                       \
    NESTOR_DISPATCH_CASE(::nestor::DType::kString, std::string, __VA_ARGS__)              \
    default:                                                                              \
      ::nestor::fail(::nestor::Code::kInvalidArgument, NAME, ": unsupported dtype ",      \
                     ::nestor::dtype_name(DT));                                           \
  }

}  // namespace nestor
