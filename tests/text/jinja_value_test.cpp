// Jinja values: Python printing, equality, ordering, JSON and UTF-8 helpers.
#include "dpok/text/jinja_value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace dpok::text::jinja {
namespace {

TEST(JinjaValue, FloatReprMatchesPython) {
  EXPECT_EQ(float_repr(1.0), "1.0");
  EXPECT_EQ(float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(float_repr(1e-5), "1e-05");
  EXPECT_EQ(float_repr(0.0001), "0.0001");
  EXPECT_EQ(float_repr(1e16), "1e+16");
  EXPECT_EQ(float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(float_repr(123456789.125), "123456789.125");
  EXPECT_EQ(float_repr(-2.5e-10), "-2.5e-10");
  EXPECT_EQ(float_repr(1.5e300), "1.5e+300");
  EXPECT_EQ(float_repr(-0.0), "-0.0");
  EXPECT_EQ(float_repr(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(float_repr(std::nan("")), "nan");
}

TEST(JinjaValue, ReprAndStrFollowPython) {
  EXPECT_EQ(Value::none().str(), "None");
  EXPECT_EQ(Value(true).str(), "True");
  EXPECT_EQ(Value().str(), "");
  EXPECT_EQ(Value("it's").repr(), "\"it's\"");
  EXPECT_EQ(Value("say \"x\"").repr(), "'say \"x\"'");
  EXPECT_EQ(Value("both ' and \"").repr(), "'both \\' and \"'");
  EXPECT_EQ(Value("a\nb\\\x07\xc2\xa0é").repr(), "'a\\nb\\\\\\x07\\xa0é'");
  EXPECT_EQ(Value::list({Value(1), Value("a"), Value::none()}).repr(), "[1, 'a', None]");
  EXPECT_EQ(Value::list({Value(1)}, true).repr(), "(1,)");
  EXPECT_EQ(Value::list({}, true).repr(), "()");
  Dict d;
  d.set(Value("k"), Value(2.0));
  d.set(Value(1), Value::list({}));
  EXPECT_EQ(Value::dict(d).repr(), "{'k': 2.0, 1: []}");
}

TEST(JinjaValue, TruthinessEqualityAndOrder) {
  EXPECT_FALSE(Value().truthy());
  EXPECT_FALSE(Value("").truthy());
  EXPECT_FALSE(Value::list({}).truthy());
  EXPECT_TRUE(Value(0.5).truthy());
  EXPECT_TRUE(equal(Value(1), Value(1.0)));
  EXPECT_TRUE(equal(Value(true), Value(1)));
  EXPECT_FALSE(equal(Value::list({Value(1)}), Value::list({Value(1)}, true)));
  EXPECT_TRUE(equal(Value(), Value()));
  EXPECT_FALSE(equal(Value(), Value::none()));
  EXPECT_LT(compare(Value("a"), Value("b")), 0);
  EXPECT_LT(compare(Value("z"), Value("é")), 0);  // code point order
  EXPECT_GT(compare(Value::list({Value(1), Value(3)}), Value::list({Value(1), Value(2)})), 0);
  EXPECT_THROW(compare(Value("a"), Value(1)), RuntimeError);
  EXPECT_THROW(compare(Value::undefined("'x' is undefined"), Value(1)), RuntimeError);
}

TEST(JinjaValue, DictKeepsInsertionOrderAndPythonKeyEquality) {
  Dict d;
  d.set(Value("b"), Value(1));
  d.set(Value("a"), Value(2));
  d.set(Value(1), Value("int"));
  d.set(Value(true), Value("bool replaces int key 1"));
  ASSERT_EQ(d.items.size(), 3u);
  EXPECT_EQ(d.items[0].first.as_string(), "b");
  EXPECT_EQ(d.find(Value(1.0))->as_string(), "bool replaces int key 1");
}

TEST(JinjaValue, JsonRoundTripAndDumpsOptions) {
  const auto j = nlohmann::ordered_json::parse(
      R"({"z": 1, "a": [1.5, null, true, "é\"\n"], "big": 18446744073709551615})");
  const Value v = from_json(j);
  JsonOptions plain;
  EXPECT_EQ(to_json(v, plain),
            R"({"z": 1, "a": [1.5, null, true, "é\"\n"], "big": 1.8446744073709552e+19})");
  JsonOptions ascii;
  ascii.ensure_ascii = true;
  EXPECT_EQ(to_json(Value("é😀\x7f"), ascii), R"("\u00e9\ud83d\ude00\u007f")");
  JsonOptions pretty;
  pretty.has_indent = true;
  pretty.indent = "  ";
  pretty.item_separator = ",";
  pretty.sort_keys = true;
  EXPECT_EQ(to_json(from_json(nlohmann::ordered_json::parse(R"({"b": [], "a": [1]})")), pretty),
            "{\n  \"a\": [\n    1\n  ],\n  \"b\": []\n}");
  EXPECT_THROW(to_json(Value(), plain), RuntimeError);
}

TEST(JinjaValue, NestingIsBounded) {
  Value v = Value::list({});
  for (int i = 1; i < kMaxValueNesting; ++i) v = Value::list({v});
  EXPECT_EQ(v.nesting(), kMaxValueNesting);
  EXPECT_THROW(Value::list({v}), RuntimeError);
}

TEST(JinjaValue, Utf8AndPythonStrip) {
  EXPECT_EQ(utf8_decode("aé😀").size(), 3u);
  EXPECT_EQ(utf8_encode(utf8_decode("aé😀")), "aé😀");
  EXPECT_EQ(utf8_decode("\xff"
                        "a"),
            std::u32string(U"\ufffd"
                           U"a"));
  EXPECT_EQ(python_strip("\u3000 x\t\n", true, true), "x");
  EXPECT_EQ(python_strip("  x  ", false, true), "  x");
  const std::string chars = "xy";
  EXPECT_EQ(python_strip("xyaxy", true, true, &chars), "a");
}

}  // namespace
}  // namespace dpok::text::jinja
