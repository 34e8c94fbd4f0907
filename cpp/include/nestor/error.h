// nestor/error.h: the one exception type of the runtime.
//
// Every failure in libnestor is a nestor::Error carrying a TensorFlow-style status
// code and a message that names the op / placeholder, what was given and what was
// expected. The Python bindings map codes to nestor.errors.*Error classes; the C API
// turns them into nestor_status objects. Nothing in the runtime aborts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace nestor {

enum class Code : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kNotFound = 5,
  kAlreadyExists = 6,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kDataLoss = 15,
};

const char* code_name(Code c);

class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  Code code() const { return code_; }

 private:
  Code code_;
};

namespace detail {
inline void cat(std::ostringstream&) {}
template <typename T, typename... R>
void cat(std::ostringstream& s, const T& v, const R&... r) {
  s << v;
  cat(s, r...);
}
}  // namespace detail

// Concatenates its arguments with operator<< into one string.
template <typename... A>
std::string str_cat(const A&... a) {
  std::ostringstream s;
  detail::cat(s, a...);
  return s.str();
}

template <typename... A>
[[noreturn]] void fail(Code code, const A&... a) {
  throw Error(code, str_cat(a...));
}

}  // namespace nestor

// NESTOR_CHECK(cond, code, message parts...): throws nestor::Error when cond is false.
#define NESTOR_CHECK(cond, code, ...)                       \
  do {                                                      \
    if (!(cond)) ::nestor::fail(::nestor::Code::code, __VA_ARGS__); \
  } while (0)
#define NESTOR_CHECK_ARG(cond, ...) NESTOR_CHECK(cond, kInvalidArgument, __VA_ARGS__)
