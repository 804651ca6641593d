// Tests for the configuration schema on a toy section: types, lists, optionals, enums through
// their name table, nested sections, unknown keys, the resolved dump and the reference rows.
#include "dpok/core/schema.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"

namespace dpok::toy {

enum class Shape { kRound, kSquare };
constexpr EnumName<Shape> kShapeNames[] = {{"round", Shape::kRound}, {"square", Shape::kSquare}};
std::span<const EnumName<Shape>> enum_names(Shape) {
  return kShapeNames;
}

struct Inner {
  double width = 1.5;
};

struct Toy {
  int64_t count = 3;
  bool on = false;
  std::string path = "a";
  std::vector<std::string> names;
  std::optional<double> limit;
  Shape shape = Shape::kRound;
  std::vector<Shape> shapes = {Shape::kSquare};
  Inner inner;
};

const schema::Section<Inner>& inner_section() {
  static const schema::Section<Inner> kSection("inner.",
                                               {schema::field("width", &Inner::width, "how wide")});
  return kSection;
}

const schema::Section<Toy>& toy_section() {
  static const schema::Section<Toy> kSection(
      "", {schema::field("count", &Toy::count, "how many"), schema::field("on", &Toy::on, "on"),
           schema::path_field("path", &Toy::path, "a path"),
           schema::field("names", &Toy::names, "names"),
           schema::field("limit", &Toy::limit, "optional"),
           schema::field("shape", &Toy::shape, "a shape"),
           schema::field("shapes", &Toy::shapes, "shapes"),
           schema::nested("inner", &Toy::inner, inner_section(), "nested")});
  return kSection;
}

Toy read(const std::string& yaml) {
  Toy toy;
  toy_section().read(toy, YAML::Load(yaml));
  return toy;
}

std::string error_of(const std::string& yaml) {
  try {
    read(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Schema, ReadsEveryKindOfValue) {
  ::setenv("DPOK_SCHEMA_TEST", "/e", 1);
  const Toy t = read(
      "count: 7\non: true\npath: ${DPOK_SCHEMA_TEST}/p\nnames: one\nlimit: 0.5\nshape: square\n"
      "shapes: [round, square]\ninner: {width: 2}\n");
  EXPECT_EQ(t.count, 7);
  EXPECT_TRUE(t.on);
  EXPECT_EQ(t.path, "/e/p");
  EXPECT_EQ(t.names, std::vector<std::string>{"one"});  // a scalar is a list of one
  EXPECT_EQ(t.limit, 0.5);
  EXPECT_EQ(t.shape, Shape::kSquare);
  EXPECT_EQ(t.shapes, (std::vector<Shape>{Shape::kRound, Shape::kSquare}));
  EXPECT_DOUBLE_EQ(t.inner.width, 2.0);
}

TEST(Schema, NullKeepsDefaultsExceptForOptionals) {
  Toy t;
  t.limit = 1.0;
  toy_section().read(t, YAML::Load("count: ~\nlimit: ~\n"));
  EXPECT_EQ(t.count, 3);
  EXPECT_FALSE(t.limit.has_value());
}

TEST(Schema, ErrorsNameKeyValueChoicesAndNearest) {
  EXPECT_EQ(error_of("shape: rond"),
            "[config] key 'shape': 'rond' is not one of round, square (did you mean 'round'?)");
  EXPECT_EQ(error_of("shapes: [round, sqare]"),
            "[config] key 'shapes': 'sqare' is not one of round, square (did you mean 'square'?)");
  EXPECT_EQ(error_of("count: many"), "[config] key 'count': cannot read 'many' as an integer");
  EXPECT_EQ(error_of("countt: 1"), "[config] unknown key 'countt' (did you mean 'count'?)");
  EXPECT_EQ(error_of("inner: {widht: 1}"),
            "[config] unknown key 'inner.widht' (did you mean 'inner.width'?)");
  EXPECT_EQ(error_of("inner: 3"), "[config] key 'inner' must be a mapping of keys, got '3'");
  EXPECT_NE(error_of("names: {a: b}").find("key 'names'"), std::string::npos);
}

TEST(Schema, HintsExtendTheSuggestions) {
  Toy t;
  try {
    toy_section().read(t, YAML::Load("model_name_or_pth: x"), {"model_name_or_path"});
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'model_name_or_path'"), std::string::npos);
  }
}

TEST(Schema, WriteReadsBackTheSame) {
  Toy t = read("count: 9\nlimit: 0.25\nshape: square\nnames: [x, y]\n");
  Toy again;
  toy_section().read(again, toy_section().write(t));
  EXPECT_EQ(YAML::Dump(toy_section().write(again)), YAML::Dump(toy_section().write(t)));
  EXPECT_EQ(again.count, 9);
  EXPECT_EQ(again.shape, Shape::kSquare);
  EXPECT_EQ(again.limit, 0.25);
}

TEST(Schema, ReferenceRowsShowDefaults) {
  const std::string rows = schema::reference_rows(toy_section());
  EXPECT_NE(rows.find("| `count` | `3` | how many |"), std::string::npos) << rows;
  EXPECT_NE(rows.find("| `shapes` | `[square]` | shapes |"), std::string::npos) << rows;
  EXPECT_EQ(rows.find("inner"), std::string::npos) << rows;  // documented by its own section
  EXPECT_NE(schema::reference_rows(inner_section()).find("| `inner.width` | `1.5` |"),
            std::string::npos);
}

}  // namespace dpok::toy
