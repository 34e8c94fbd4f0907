// io/json.h: a small, strict JSON parser (RFC 8259) for export metadata and the C++ examples.
//
// Objects, arrays, strings (all escapes, \uXXXX with surrogate pairs, UTF-8 validated),
// numbers, true/false/null. Duplicate object keys, trailing commas, comments, leading
// zeros, NaN/Infinity and trailing garbage are errors. Nesting depth and document size
// are limited. Every error is nestor::Error(kDataLoss, "<what>: offset N: <problem>").
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nestor {
namespace json {

enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
const char* type_name(Type t);

class Value {
 public:
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0.0;
  bool is_int = false;   // a number written without fraction/exponent that fits int64
  int64_t integer = 0;   // its exact value when is_int
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // in document order, keys unique

  bool is_null() const { return type == Type::kNull; }
  bool is_object() const { return type == Type::kObject; }
  bool is_array() const { return type == Type::kArray; }
  bool is_string() const { return type == Type::kString; }
  bool is_number() const { return type == Type::kNumber; }
  bool is_bool() const { return type == Type::kBool; }
  // The member `key` of an object, or nullptr (also when this is not an object).
  const Value* find(const std::string& key) const;
};

struct Limits {
  int max_depth = 64;
  size_t max_size = size_t{64} << 20;
};

// Parses one complete document. `what` names the source in error messages.
Value parse(const std::string& text, const std::string& what = "JSON", const Limits& limits = {});
Value parse(const char* data, size_t size, const std::string& what = "JSON", const Limits& limits = {});

// Appends `s` as a JSON string literal (with quotes) to `out`.
void append_quoted(std::string& out, const std::string& s);

}  // namespace json
}  // namespace nestor
