// ParseUntrustedJson: the JSON kiln reads from outside (request bodies, workers' events, broker
// messages) is read as nlohmann's parser would read it, with a depth limit, in memory
// proportional to the text, and never as a value that cannot be printed again.
#include "core/untrusted_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kiln {
namespace {

using nlohmann::json;

TEST(UntrustedJsonTest, DepthIsCheckedBeforeParsingAndStringsDoNotCount) {
  EXPECT_TRUE(JsonDepthWithin(std::string(64, '[') + std::string(64, ']')));
  EXPECT_FALSE(JsonDepthWithin(std::string(65, '[') + std::string(65, ']')));
  EXPECT_TRUE(JsonDepthWithin("{\"a\":\"" + std::string(1000, '[') + "\"}"));
  EXPECT_TRUE(JsonDepthWithin(R"({"a":"\"[[[[[[[[[[["})", 2));
  std::string why;
  EXPECT_TRUE(
      ParseUntrustedJson(std::string(100000, '[') + std::string(100000, ']'), &why).is_discarded());
  EXPECT_EQ(why, "nested deeper than 64 levels");
  EXPECT_EQ(ParseUntrustedJson(R"({"a":[1,{"b":2}]})")["a"][1]["b"], 2);
}

TEST(UntrustedJsonTest, ReadsWhatNlohmannReadsAsNlohmannReadsIt) {
  const std::vector<std::string> documents = {
      R"({"type":"qcow2","arch":"x86_64","n":[1,-2,3.5,-0,1e3,18446744073709551615,-9223372036854775808]})",
      R"([true,false,null,"",{},[],{"":""}])",
      R"("a string alone")",
      "42",
      " \t\r\n[1] \n",
      R"({"escapes":"\" \\ \/ \b \f \n \r \t \u00e9 \u20ac \ud83d\ude00 \u0000 end"})",
      "{\"raw\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}",
      R"({"same":1,"same":2})",  // the last one wins
      "\xEF\xBB\xBF{\"after a byte order mark\":true}",
      R"([0.1,1.7976931348623157e308,5e-324,123456789012345678901234567890])",
      R"([1e-400,-0.0,-9223372036854775809,18446744073709551616,1E2,-1e-2])",  // edges
  };
  for (const std::string& text : documents) {
    json expected = json::parse(text);
    json got = ParseUntrustedJson(text);
    ASSERT_FALSE(got.is_discarded()) << text;
    EXPECT_EQ(got, expected) << text;
    EXPECT_EQ(got.dump(), expected.dump()) << text;  // the same types: signed, unsigned, float
  }
}

TEST(UntrustedJsonTest, RefusesWhatIsNotJsonAndSaysWhere) {
  const std::vector<std::string> bad = {
      "",
      "   ",
      "{nope",
      R"({"a":1,})",
      R"([1,2)",
      "[1] [2]",                         // two documents
      "{\"a\":\"line\nbreak\"}",         // a raw control character in a string
      "{\"a\":\"\xC3\"}",                // cut UTF-8
      "{\"a\":\"\xED\xA0\x80\"}",        // a surrogate written as UTF-8
      R"({"a":"\ud800"})",               // a lone high surrogate
      R"({"a":"\udc00"})",               // a lone low surrogate
      R"({"\udc00":1})",                 // ... as a key
      std::string("{\"a\":1}\0{}", 10),  // a NUL outside a string
      "[01]",
      "[NaN]",
      "[1e400]",  // past a double (nlohmann would make it infinity, printed as null)
      "[1.5e999999]",
      "\xEF"
      "8",                    // a byte of a byte order mark, not the mark
      std::string("3\0", 2),  // nlohmann would stop at the NUL and take the 3
      "{'a':1}",
  };
  for (const std::string& text : bad) {
    std::string why;
    EXPECT_TRUE(ParseUntrustedJson(text, &why).is_discarded()) << text;
    EXPECT_EQ(why.rfind("not valid JSON (at byte ", 0), 0u) << text << ": " << why;
  }
  std::string why;
  ParseUntrustedJson(R"({"a": [1, 2,, 3]})", &why);
  EXPECT_EQ(why, "not valid JSON (at byte 12: Invalid value.)");
}

TEST(UntrustedJsonTest, ALargeStringIsReadWhole) {
  std::string big;
  while (big.size() < (2u << 20)) big += "echo 'a line with \"quotes\" and a tab\t'\n";
  json request = {{"kickstart", big}, {"list", json::array({1, 2, 3})}};
  json got = ParseUntrustedJson(request.dump());
  ASSERT_FALSE(got.is_discarded());
  EXPECT_EQ(got["kickstart"].get<std::string>(), big);
  EXPECT_EQ(got, request);
}

}  // namespace
}  // namespace kiln
