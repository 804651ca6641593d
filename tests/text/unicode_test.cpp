// Unicode classes and normalization (ICU) as Rust's char methods and tokenizers see them.
#include "dpok/text/unicode.h"

#include <gtest/gtest.h>

namespace dpok::text {
namespace {

TEST(Unicode, Classes) {
  EXPECT_TRUE(is_whitespace(U' '));
  EXPECT_TRUE(is_whitespace(U'\u3000'));
  EXPECT_TRUE(is_whitespace(U'\u0085'));
  EXPECT_FALSE(is_whitespace(U'\u200B'));  // zero-width space is not White_Space
  EXPECT_TRUE(is_alphanumeric(U'é'));
  EXPECT_TRUE(is_alphanumeric(U'½'));  // No
  EXPECT_FALSE(is_alphanumeric(U'_'));
  EXPECT_TRUE(is_punctuation(U'$'));  // ASCII punctuation includes symbols
  EXPECT_TRUE(is_punctuation(U'¿'));
  EXPECT_FALSE(is_punctuation(U'€'));  // Sc, not P*
}

// The unicode_categories crate that tokenizers uses has Unicode 8.0's tables.
TEST(Unicode, CategoriesAsOfUnicode8) {
  EXPECT_TRUE(is_punctuation(U'\u166D'));      // Po in 8.0, So since 12.0
  EXPECT_TRUE(is_punctuation(U'\U000111C9'));  // Po in 8.0, Mn since 11.0
  EXPECT_FALSE(is_punctuation(U'\u061D'));     // Po, new in 14.0
  EXPECT_TRUE(is_category_other(U'\x01'));
  EXPECT_TRUE(is_category_other(U'\u200D'));      // Cf
  EXPECT_TRUE(is_category_other(U'\U000F0000'));  // Co
  EXPECT_FALSE(is_category_other(U'\u0890'));     // Cf, new in 14.0
  EXPECT_FALSE(is_category_other(U'\u0378'));     // unassigned (Cn) is not in the crate's tables
  EXPECT_FALSE(is_category_other(U'a'));
  EXPECT_TRUE(is_nonspacing_mark(U'\u0301'));
  EXPECT_TRUE(is_nonspacing_mark(U'\u1734'));   // Mn in 8.0, Mc since 14.0
  EXPECT_FALSE(is_nonspacing_mark(U'\u1885'));  // Lo in 8.0, Mn since 9.0
  EXPECT_FALSE(is_nonspacing_mark(U'\u07FD'));  // new in 11.0
}

TEST(Unicode, LowercasePerCharacter) {
  EXPECT_EQ(lowercase("HeLLo ÀÉ"), "hello àé");
  EXPECT_EQ(lowercase("İ"), "i\u0307");
  EXPECT_EQ(lowercase("ΟΔΟΣ"), "οδοσ");  // no final-sigma context, like char::to_lowercase
}

TEST(Unicode, NormalForms) {
  EXPECT_EQ(normalize_unicode("e\u0301", NormalForm::kNFC), "é");
  EXPECT_EQ(normalize_unicode("é", NormalForm::kNFD), "e\u0301");
  EXPECT_EQ(normalize_unicode("ﬁ½", NormalForm::kNFKC), "fi1⁄2");
  EXPECT_EQ(normalize_unicode("ﬁ", NormalForm::kNFC), "ﬁ");
  EXPECT_EQ(normalize_unicode("Å", NormalForm::kNFKD), "A\u030A");
  EXPECT_EQ(normalize_unicode("ascii", NormalForm::kNFKC), "ascii");
}

}  // namespace
}  // namespace dpok::text
