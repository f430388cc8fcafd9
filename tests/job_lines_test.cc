// `kiln job`'s lines through the one codec both ends use: every kind round-trips, what is
// not a job line comes back as it was, and tools' non-UTF-8 output does not break a line.
#include "protocol/job_lines.h"

#include <gtest/gtest.h>

namespace kiln::protocol {
namespace {

using Kind = JobLine::Kind;

TEST(JobLinesTest, EveryKindRoundTrips) {
  const JobLine lines[] = {
      LogLine("stage 1/4 bootstrap: miss because nothing is cached"),
      StageLine(0, 4, "bootstrap", "cache miss"),
      ProgressLine("bootstrap", 0.5, "unpacking"),
      StageDoneLine("bootstrap", "built", 61234),
      SucceededLine("kiln.raw", std::string(64, 'a')),
      FailedLine("scripts", "user", "post-script-failed", "%post failed", "see the log"),
  };
  for (const JobLine& line : lines) {
    std::string text = EncodeJobLine(line);
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
    EXPECT_EQ(DecodeJobLine(text), line) << text;
  }
}

TEST(JobLinesTest, WhatIsNotAJobLineComesBackAsItWas) {
  for (const char* raw : {"plain output of a tool", "{\"not\": \"ours\"}", "[1, 2]", "{",
                          "{\"event\": \"made-up\"}", ""}) {
    JobLine line = DecodeJobLine(raw);
    EXPECT_EQ(line.kind, Kind::kForeign) << raw;
    EXPECT_EQ(line.text, raw);
  }
}

TEST(JobLinesTest, OutputThatIsNotUtf8IsReplacedNotLost) {
  JobLine back = DecodeJobLine(EncodeJobLine(LogLine("caf\xe9 au lait")));
  EXPECT_EQ(back.kind, Kind::kLog);
  EXPECT_EQ(back.text.substr(0, 3), "caf");
  EXPECT_NE(back.text.find(" au lait"), std::string::npos);
}

TEST(JobLinesTest, MissingOrMistypedFieldsTakeTheirDefaults) {
  JobLine line = DecodeJobLine(R"({"event":"stage","index":"two","stage":7})");
  EXPECT_EQ(line.kind, Kind::kStage);
  EXPECT_EQ(line.index, 0);
  EXPECT_EQ(line.count, 1);
  EXPECT_EQ(line.stage, "");
  JobLine result = DecodeJobLine(R"({"event":"result","ok":"yes"})");
  EXPECT_EQ(result.kind, Kind::kResult);
  EXPECT_FALSE(result.ok) << "only true is true";
}

}  // namespace
}  // namespace kiln::protocol
