// The client's pure pieces: the Server-Sent Events parser (any split of the bytes gives the
// same events), tables, bars and human-readable figures.
#include <gtest/gtest.h>

#include <cstdlib>

#include "client/sse.h"
#include "client/terminal.h"

namespace kiln::client {
namespace {

std::vector<SseEvent> ParseInChunks(const std::string& text, size_t chunk) {
  SseParser parser;
  std::vector<SseEvent> out;
  for (size_t i = 0; i < text.size(); i += chunk) {
    parser.Feed(text.substr(i, chunk), [&](const SseEvent& e) {
      out.push_back(e);
      return true;
    });
  }
  return out;
}

TEST(SseParserTest, EventsSurviveAnySplitAndBothLineEnds) {
  const std::string stream =
      ": keep-alive\n\n"
      "id: 1\nevent: state\ndata: {\"state\":\"running\"}\n\n"
      "id: 2\r\nevent: log\r\ndata: line one\r\ndata: line two\r\n\r\n"
      "data:no space\n\n"
      "id: 3\nevent: end\ndata: {\"state\":\"succeeded\"}\n\n";
  for (size_t chunk : {1u, 2u, 3u, 7u, 1000u}) {
    std::vector<SseEvent> ev = ParseInChunks(stream, chunk);
    ASSERT_EQ(ev.size(), 4u) << "chunk " << chunk;
    EXPECT_EQ(ev[0].id, "1");
    EXPECT_EQ(ev[0].event, "state");
    EXPECT_EQ(ev[0].data, "{\"state\":\"running\"}");
    EXPECT_EQ(ev[1].event, "log");
    EXPECT_EQ(ev[1].data, "line one\nline two");
    EXPECT_EQ(ev[2].event, "message");
    EXPECT_EQ(ev[2].data, "no space");
    EXPECT_EQ(ev[2].id, "2") << "the last id carries over";
    EXPECT_EQ(ev[3].event, "end");
  }
}

TEST(SseParserTest, StopsWhenTheCallbackSaysSo) {
  SseParser parser;
  int seen = 0;
  bool more =
      parser.Feed("data: a\n\ndata: b\n\ndata: c\n\n", [&](const SseEvent&) { return ++seen < 2; });
  EXPECT_FALSE(more);
  EXPECT_EQ(seen, 2);
}

TEST(TerminalTest, TablesAlignByCharactersAndColourOnlyWhenAsked) {
  Table t{{"ID", "STATE", "NAME"}, {{"1", "succeeded", "ünïcode"}, {"12", "failed", "x"}}};
  std::string plain = t.Render(false, {nullptr, StateColor});
  EXPECT_EQ(plain,
            "ID  STATE      NAME\n"
            "1   succeeded  ünïcode\n"
            "12  failed     x\n");
  std::string colored = t.Render(true, {nullptr, StateColor});
  EXPECT_NE(colored.find("\033[32msucceeded\033[0m  "), std::string::npos) << colored;
  EXPECT_NE(colored.find("\033[31mfailed\033[0m"), std::string::npos);
}

TEST(TerminalTest, NoColorWinsOverATerminal) {
  setenv("NO_COLOR", "1", 1);
  EXPECT_FALSE(ColorFor(0));
  unsetenv("NO_COLOR");
}

TEST(TerminalTest, BarsAndHumanFigures) {
  EXPECT_EQ(Bar(0, 4), "[----]");
  EXPECT_EQ(Bar(0.5, 4), "[##--]");
  EXPECT_EQ(Bar(1.7, 4), "[####]");
  EXPECT_EQ(HumanBytes(10), "10 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(3ull << 30), "3.0 GiB");
  EXPECT_EQ(HumanSeconds(4), "4s");
  EXPECT_EQ(HumanSeconds(83), "1m23s");
  EXPECT_EQ(HumanSeconds(3725), "1h02m");
}

}  // namespace
}  // namespace kiln::client
