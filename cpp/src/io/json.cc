// io/json.cc: see json.h.
#include "io/json.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "nestor/error.h"

namespace nestor {
namespace json {

const char* type_name(Type t) {
  switch (t) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kNumber: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "?";
}

const Value* Value::find(const std::string& key) const {
  if (type != Type::kObject) return nullptr;
  for (const auto& kv : object)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

namespace {

class Parser {
 public:
  Parser(const char* d, size_t n, const std::string& what, const Limits& lim) : d_(d), n_(n), what_(what), lim_(lim) {}

  Value document() {
    if (n_ > lim_.max_size) fail_at(0, "document of ", n_, " bytes exceeds the limit of ", lim_.max_size);
    Value v;
    ws();
    value(v, 0);
    ws();
    if (p_ != n_) fail_at(p_, "unexpected trailing data");
    return v;
  }

 private:
  template <typename... A>
  [[noreturn]] void fail_at(size_t off, const A&... a) {
    fail(Code::kDataLoss, what_, ": offset ", off, ": ", a...);
  }
  void ws() {
    while (p_ < n_ && (d_[p_] == ' ' || d_[p_] == '\t' || d_[p_] == '\n' || d_[p_] == '\r')) ++p_;
  }
  char peek() {
    if (p_ >= n_) fail_at(p_, "unexpected end of input");
    return d_[p_];
  }
  void expect_word(const char* w) {
    size_t len = std::strlen(w);
    if (n_ - p_ < len || std::memcmp(d_ + p_, w, len) != 0) fail_at(p_, "invalid literal, expected '", w, "'");
    p_ += len;
  }

  void value(Value& v, int depth) {
    char c = peek();
    switch (c) {
      case '{': object(v, depth + 1); return;
      case '[': array(v, depth + 1); return;
      case '"': v.type = Type::kString; string(v.string); return;
      case 't': expect_word("true"); v.type = Type::kBool; v.boolean = true; return;
      case 'f': expect_word("false"); v.type = Type::kBool; v.boolean = false; return;
      case 'n': expect_word("null"); v.type = Type::kNull; return;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) { number(v); return; }
        fail_at(p_, "unexpected character '", printable(c), "'");
    }
  }
  static std::string printable(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", u);
    return buf;
  }

  void object(Value& v, int depth) {
    if (depth > lim_.max_depth) fail_at(p_, "nesting deeper than ", lim_.max_depth);
    v.type = Type::kObject;
    ++p_;
    ws();
    if (peek() == '}') { ++p_; return; }
    for (;;) {
      ws();
      if (peek() != '"') fail_at(p_, "expected a string key");
      size_t key_off = p_;
      std::string key;
      string(key);
      for (const auto& kv : v.object)
        if (kv.first == key) fail_at(key_off, "duplicate key \"", key, "\"");
      ws();
      if (peek() != ':') fail_at(p_, "expected ':' after a key");
      ++p_;
      ws();
      v.object.emplace_back(std::move(key), Value());
      value(v.object.back().second, depth);
      ws();
      char c = peek();
      ++p_;
      if (c == '}') return;
      if (c != ',') fail_at(p_ - 1, "expected ',' or '}' in an object");
    }
  }

  void array(Value& v, int depth) {
    if (depth > lim_.max_depth) fail_at(p_, "nesting deeper than ", lim_.max_depth);
    v.type = Type::kArray;
    ++p_;
    ws();
    if (peek() == ']') { ++p_; return; }
    for (;;) {
      ws();
      v.array.emplace_back();
      value(v.array.back(), depth);
      ws();
      char c = peek();
      ++p_;
      if (c == ']') return;
      if (c != ',') fail_at(p_ - 1, "expected ',' or ']' in an array");
    }
  }

  unsigned hex4() {
    if (n_ - p_ < 4) fail_at(p_, "truncated \\u escape");
    unsigned u = 0;
    for (int i = 0; i < 4; ++i) {
      char c = d_[p_ + i];
      u <<= 4;
      if (c >= '0' && c <= '9') u |= c - '0';
      else if (c >= 'a' && c <= 'f') u |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') u |= c - 'A' + 10;
      else fail_at(p_ + i, "invalid hex digit in \\u escape");
    }
    p_ += 4;
    return u;
  }
  static void put_utf8(std::string& s, unsigned cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  // Validates one UTF-8 sequence starting at p_ (a byte >= 0x80) and copies it.
  void utf8(std::string& s) {
    size_t start = p_;
    unsigned char b = static_cast<unsigned char>(d_[p_]);
    int len;
    unsigned cp;
    if (b >= 0xc2 && b <= 0xdf) { len = 2; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef) { len = 3; cp = b & 0x0f; }
    else if (b >= 0xf0 && b <= 0xf4) { len = 4; cp = b & 0x07; }
    else fail_at(p_, "invalid UTF-8 byte ", printable(static_cast<char>(b)));
    if (n_ - p_ < static_cast<size_t>(len)) fail_at(p_, "truncated UTF-8 sequence");
    for (int i = 1; i < len; ++i) {
      unsigned char c = static_cast<unsigned char>(d_[p_ + i]);
      if ((c & 0xc0) != 0x80) fail_at(p_ + i, "invalid UTF-8 continuation byte");
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      fail_at(start, "invalid UTF-8 sequence");
    s.append(d_ + p_, len);
    p_ += len;
  }

  void string(std::string& s) {
    ++p_;  // opening quote
    for (;;) {
      if (p_ >= n_) fail_at(p_, "unterminated string");
      char c = d_[p_];
      unsigned char u = static_cast<unsigned char>(c);
      if (c == '"') { ++p_; return; }
      if (u < 0x20) fail_at(p_, "control character in a string");
      if (u >= 0x80) { utf8(s); continue; }
      if (c != '\\') { s += c; ++p_; continue; }
      ++p_;
      if (p_ >= n_) fail_at(p_, "unterminated escape");
      char e = d_[p_++];
      switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          size_t at = p_ - 2;
          unsigned cp = hex4();
          if (cp >= 0xdc00 && cp <= 0xdfff) fail_at(at, "unpaired low surrogate in \\u escape");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (n_ - p_ < 2 || d_[p_] != '\\' || d_[p_ + 1] != 'u') fail_at(at, "unpaired high surrogate in \\u escape");
            p_ += 2;
            unsigned lo = hex4();
            if (lo < 0xdc00 || lo > 0xdfff) fail_at(at, "invalid surrogate pair in \\u escape");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          }
          put_utf8(s, cp);
          break;
        }
        default: fail_at(p_ - 1, "invalid escape '\\", printable(e), "'");
      }
    }
  }

  bool digit() const { return p_ < n_ && d_[p_] >= '0' && d_[p_] <= '9'; }
  void number(Value& v) {
    size_t start = p_;
    bool integral = true;
    if (d_[p_] == '-') ++p_;
    if (!digit()) fail_at(p_, "expected a digit");
    if (d_[p_] == '0') {
      ++p_;
      if (digit()) fail_at(p_, "leading zero in a number");
    } else {
      while (digit()) ++p_;
    }
    if (p_ < n_ && d_[p_] == '.') {
      integral = false;
      ++p_;
      if (!digit()) fail_at(p_, "expected a digit after '.'");
      while (digit()) ++p_;
    }
    if (p_ < n_ && (d_[p_] == 'e' || d_[p_] == 'E')) {
      integral = false;
      ++p_;
      if (p_ < n_ && (d_[p_] == '+' || d_[p_] == '-')) ++p_;
      if (!digit()) fail_at(p_, "expected a digit in the exponent");
      while (digit()) ++p_;
    }
    std::string text(d_ + start, p_ - start);
    v.type = Type::kNumber;
    errno = 0;
    v.number = std::strtod(text.c_str(), nullptr);
    if (errno == ERANGE && (v.number > 1.0 || v.number < -1.0)) fail_at(start, "number out of range");
    if (integral) {
      errno = 0;
      long long i = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == 0) {
        v.is_int = true;
        v.integer = i;
      }
    }
  }

  const char* d_;
  size_t n_;
  size_t p_ = 0;
  const std::string& what_;
  const Limits& lim_;
};

}  // namespace

Value parse(const char* data, size_t size, const std::string& what, const Limits& limits) {
  return Parser(data, size, what, limits).document();
}

Value parse(const std::string& text, const std::string& what, const Limits& limits) {
  return parse(text.data(), text.size(), what, limits);
}

void append_quoted(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace json
}  // namespace nestor
