// The strict JSON parser of io/json.h: valid documents, every kind of invalid one, limits,
// and truncation of a document at every offset failing cleanly with DataLoss.
#include <gtest/gtest.h>

#include "io/json.h"
#include "nestor/error.h"

using namespace nestor;

namespace {

std::string parse_error(const std::string& text, const json::Limits& lim = {}) {
  try {
    json::parse(text, "doc", lim);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDataLoss) << text;
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << text;
  return "";
}

TEST(Json, ParsesAllValueKinds) {
  json::Value v = json::parse(R"( {"a": [1, -2.5e3, 0, true, false, null], "b": {"c": "x\"\\\/\b\f\n\r\t"},
                                   "e": {}, "f": [], "big": 9007199254740993, "neg": -0.0} )");
  ASSERT_TRUE(v.is_object());
  ASSERT_EQ(v.object.size(), 6u);
  EXPECT_EQ(v.object[0].first, "a");  // document order
  const json::Value& a = *v.find("a");
  ASSERT_EQ(a.array.size(), 6u);
  EXPECT_TRUE(a.array[0].is_int);
  EXPECT_EQ(a.array[0].integer, 1);
  EXPECT_FALSE(a.array[1].is_int);
  EXPECT_DOUBLE_EQ(a.array[1].number, -2500.0);
  EXPECT_TRUE(a.array[3].boolean);
  EXPECT_FALSE(a.array[4].boolean);
  EXPECT_TRUE(a.array[5].is_null());
  EXPECT_EQ(v.find("b")->find("c")->string, "x\"\\/\b\f\n\r\t");
  EXPECT_TRUE(v.find("e")->is_object());
  EXPECT_TRUE(v.find("f")->is_array());
  EXPECT_EQ(v.find("big")->integer, 9007199254740993LL);  // exact beyond 2^53
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_EQ(json::parse("3").integer, 3);
}

TEST(Json, UnicodeEscapesAndUtf8) {
  EXPECT_EQ(json::parse(R"("\u0041\u00e9\u20ac\ud83d\ude00")").string, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(json::parse("\"caf\xc3\xa9\"").string, "caf\xc3\xa9");
  EXPECT_NE(parse_error(R"("\ud83d")").find("unpaired high surrogate"), std::string::npos);
  EXPECT_NE(parse_error(R"("\ude00")").find("unpaired low surrogate"), std::string::npos);
  EXPECT_NE(parse_error(R"("\ud83d\u0041")").find("invalid surrogate pair"), std::string::npos);
  EXPECT_NE(parse_error(R"("\u12G4")").find("invalid hex digit"), std::string::npos);
  EXPECT_NE(parse_error("\"\xff\"").find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(parse_error("\"\xc0\xaf\"").find("invalid UTF-8"), std::string::npos);  // overlong
  EXPECT_NE(parse_error("\"\xed\xa0\x80\"").find("invalid UTF-8"), std::string::npos);  // surrogate
}

TEST(Json, RejectsInvalidDocumentsWithOffsets) {
  EXPECT_EQ(parse_error("[1, 2,]"), "doc: offset 6: unexpected character ']'");
  EXPECT_EQ(parse_error("{\"a\": 1, \"a\": 2}"), "doc: offset 9: duplicate key \"a\"");
  EXPECT_EQ(parse_error("[1] x"), "doc: offset 4: unexpected trailing data");
  EXPECT_EQ(parse_error("01"), "doc: offset 1: leading zero in a number");
  EXPECT_EQ(parse_error(""), "doc: offset 0: unexpected end of input");
  for (const char* bad : {"{a: 1}", "{'a': 1}", "[1 2]", "{\"a\" 1}", "nul", "True", "NaN", "-", "1.", "1e", ".5",
                          "+1", "\"a\nb\"", "\"\\x\"", "[", "{\"a\":1,}", "// c\n1", "1e999", "\"abc"})
    parse_error(bad);
}

TEST(Json, DepthAndSizeLimits) {
  json::Limits lim;
  lim.max_depth = 4;
  EXPECT_NO_THROW(json::parse("[[[[1]]]]", "doc", lim));
  EXPECT_NE(parse_error("[[[[[1]]]]]", lim).find("nesting deeper than 4"), std::string::npos);
  EXPECT_NE(parse_error(std::string(100000, '[')).find("nesting deeper than 64"), std::string::npos);
  lim.max_size = 5;
  EXPECT_NE(parse_error("[1,2,3]", lim).find("exceeds the limit"), std::string::npos);
}

TEST(Json, TruncationAtEveryOffsetFailsCleanly) {
  const std::string doc = R"({"format": "nestor-export-1", "x": [1.5, -2e-3, true, null, "\u00e9\ud83d\ude00"],)"
                          R"( "y": {"z": [[0], []]}})";
  json::parse(doc);
  for (size_t n = 0; n < doc.size(); ++n) {
    std::string what = parse_error(doc.substr(0, n));
    EXPECT_EQ(what.rfind("doc: offset ", 0), 0u) << n << ": " << what;
  }
}

TEST(Json, QuoteRoundTrips) {
  std::string s = "a\"b\\c\n\x01\xc3\xa9";
  std::string q;
  json::append_quoted(q, s);
  EXPECT_EQ(json::parse(q).string, s);
}

}  // namespace
