// kiln's e-mails without a server: the [smtp] section (and the seed's quoted [SMTP]), the
// rendered message read back part by part (headers, both alternatives, threading), and what
// a message says when a build is accepted and when it ends.
#include "delivery/mail.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/base64.h"
#include "delivery/messages.h"

namespace kiln::delivery {
namespace {

// The headers (up to the first empty line) as name -> value, unfolded.
std::map<std::string, std::string> Headers(const std::string& message) {
  std::map<std::string, std::string> out;
  std::string head = message.substr(0, message.find("\r\n\r\n"));
  std::string last;
  size_t at = 0;
  while (at <= head.size()) {
    size_t end = head.find("\r\n", at);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(at, end - at);
    if (!line.empty() && line[0] == ' ') {
      out[last] += line;
    } else if (size_t colon = line.find(": "); colon != std::string::npos) {
      last = line.substr(0, colon);
      out[last] = line.substr(colon + 2);
    }
    at = end + 2;
  }
  return out;
}

// The decoded body of the part with this content type.
std::string Part(const std::string& message, const std::string& type) {
  size_t at = message.find("Content-Type: " + type);
  if (at == std::string::npos) return "";
  size_t body = message.find("\r\n\r\n", at) + 4;
  size_t end = message.find("\r\n--", body);
  std::optional<std::string> decoded = Base64Decode(message.substr(body, end - body));
  return decoded ? *decoded : "(not base64)";
}

BuildSummary FailedBuild() {
  BuildSummary b;
  b.id = 42;
  b.owner = "alice";
  b.type = "qcow2";
  b.arch = "x86_64";
  b.release = "bookworm";
  b.name = "web <server> & co";
  b.state = "failed";
  b.created_ms = 1796599987469;
  b.started_ms = b.created_ms + 1000;
  b.finished_ms = b.started_ms + 125000;
  b.error_class = "user-error";
  b.error_message = "%post exited with status 3";
  b.error_hint = "fix the script; its output is in the log";
  b.artifacts = {{"build.log", 2048, std::string(64, 'a')}};
  for (int i = 1; i <= 20; ++i) b.log_tail.push_back("line " + std::to_string(i) + " <tag>");
  return b;
}

TEST(SmtpConfigTest, TheSeedsSectionWithItsQuotesAndKilnsKeys) {
  Result<SmtpConfig> seed = SmtpConfigFromKeys({{"server", "'smtp.example.org'"},
                                                {"port", "'587'"},
                                                {"login", "'buildservicebot@example.org'"},
                                                {"password", "'f00bar'"}});
  ASSERT_TRUE(seed.ok()) << seed.message();
  EXPECT_EQ(seed->server, "smtp.example.org");
  EXPECT_EQ(seed->port, 587);
  EXPECT_EQ(seed->password, "f00bar");
  EXPECT_EQ(seed->from, "buildservicebot@example.org") << "the seed's login was its sender";
  EXPECT_EQ(seed->starttls, SmtpConfig::StartTls::kAuto);

  Result<SmtpConfig> kiln = SmtpConfigFromKeys({{"server", "127.0.0.1"},
                                                {"port", "2525"},
                                                {"from", "kiln@example.org"},
                                                {"starttls", "never"},
                                                {"daily_limit_per_user", "40"}});
  ASSERT_TRUE(kiln.ok()) << kiln.message();
  EXPECT_EQ(kiln->starttls, SmtpConfig::StartTls::kNever);
  EXPECT_TRUE(kiln->login.empty());
  EXPECT_EQ(kiln->daily_limit_per_user, 40);
  EXPECT_EQ(seed->daily_limit_per_user, 500) << "a limit unless the admin says otherwise";

  for (const auto& [keys, says] :
       std::vector<std::pair<std::map<std::string, std::string>, std::string>>{
           {{{"server", "smtp.example.org"}}, "needs from"},
           {{{"server", "bad host!"}, {"from", "k@example.org"}}, "server"},
           {{{"server", "h"}, {"port", "70000"}, {"from", "k@example.org"}}, "port"},
           {{{"server", "h"}, {"from", "k@example.org"}, {"starttls", "sometimes"}}, "starttls"},
           {{{"server", "h"}, {"from", "k@example.org"}, {"relay", "x"}}, "unknown key 'relay'"},
           {{{"port", "25"}, {"from", "k@example.org"}}, "needs server"},
           {{{"server", "h"}, {"from", "k@example.org"}, {"daily_limit_per_user", "-1"}},
            "daily_limit_per_user"},
       }) {
    Result<SmtpConfig> bad = SmtpConfigFromKeys(keys);
    ASSERT_FALSE(bad.ok()) << says;
    EXPECT_NE(bad.message().find(says), std::string::npos) << bad.message();
  }
}

TEST(MailTest, TwoAlternativesThreadedAndNeverBlank) {
  BuildSummary b = FailedBuild();
  Mail accepted = AcceptedMail(b, "https://kiln.example.org");
  accepted.from = "kiln@example.org";
  accepted.to = "alice@example.org";
  accepted.message_id = BuildMessageId(b, "accepted", accepted.from);
  accepted.date_ms = b.created_ms;
  Mail ended = EndedMail(b, "https://kiln.example.org");
  ended.from = accepted.from;
  ended.to = accepted.to;
  ended.message_id = BuildMessageId(b, "ended", ended.from);
  ended.in_reply_to = accepted.message_id;
  ended.date_ms = b.finished_ms;

  Result<std::string> first = RenderMail(accepted);
  Result<std::string> second = RenderMail(ended);
  ASSERT_TRUE(first.ok() && second.ok());
  auto h1 = Headers(*first), h2 = Headers(*second);
  EXPECT_EQ(h1["Message-ID"], "<kiln-42-1796599987469.accepted@example.org>");
  EXPECT_EQ(h1.count("In-Reply-To"), 0u);
  EXPECT_EQ(h2["In-Reply-To"], h1["Message-ID"]) << "the two thread together";
  EXPECT_EQ(h2["References"], h1["Message-ID"]);
  EXPECT_EQ(h2["Subject"],
            "[kiln] build 42 failed: qcow2 image of bookworm for x86_64 "
            "(web <server> & co)");
  EXPECT_EQ(h2["Date"], "Sun, 06 Dec 2026 23:35:13 +0000");
  EXPECT_NE(h2["Content-Type"].find("multipart/alternative"), std::string::npos);

  std::string text = Part(*second, "text/plain"), html = Part(*second, "text/html");
  EXPECT_NE(text.find("State:     failed"), std::string::npos) << text;
  EXPECT_NE(text.find("Duration:  2 min 5 s"), std::string::npos) << text;
  EXPECT_NE(text.find("%post exited with status 3"), std::string::npos);
  EXPECT_NE(text.find("How to fix it: fix the script"), std::string::npos);
  EXPECT_NE(text.find("build.log  2.0 KiB"), std::string::npos) << text;
  EXPECT_NE(text.find("https://kiln.example.org/api/v1/builds/42/artifacts/build.log"),
            std::string::npos);
  EXPECT_NE(text.find("  | line 20 <tag>"), std::string::npos);
  EXPECT_NE(html.find("line 20 &lt;tag&gt;"), std::string::npos) << "escaped in HTML";
  EXPECT_EQ(html.find("<server>"), std::string::npos) << "a user's name is text, not markup";
  EXPECT_NE(html.find("web &lt;server&gt; &amp; co"), std::string::npos);

  std::string accepted_text = Part(*first, "text/plain");
  EXPECT_NE(accepted_text.find("https://kiln.example.org/builds/42"), std::string::npos);
  EXPECT_NE(accepted_text.find("was accepted"), std::string::npos);
}

TEST(MailTest, ABreakInAHeaderOrABlankPartIsRefused) {
  Mail m;
  m.from = "kiln@example.org";
  m.to = "alice@example.org";
  m.message_id = "<x@example.org>";
  m.subject = "hello\r\nBcc: everyone@example.org";
  m.text = m.html = "body";
  EXPECT_FALSE(RenderMail(m).ok());
  m.subject = "hello";
  m.html.clear();
  EXPECT_FALSE(RenderMail(m).ok()) << "never blank";
}

TEST(MailTest, ASubjectBeyondAsciiIsEncodedWords) {
  Mail m;
  m.from = "kiln@example.org";
  m.to = "alice@example.org";
  m.message_id = "<y@example.org>";
  m.subject = "[kiln] build 7 succeeded: Žluťoučký kůň";
  m.text = m.html = "body";
  Result<std::string> r = RenderMail(m);
  ASSERT_TRUE(r.ok());
  std::string subject = Headers(*r)["Subject"];
  EXPECT_EQ(subject.rfind("=?UTF-8?B?", 0), 0u) << subject;
  std::string decoded;
  for (size_t at = 0; (at = subject.find("=?UTF-8?B?", at)) != std::string::npos;) {
    size_t end = subject.find("?=", at + 10);
    decoded += Base64Decode(subject.substr(at + 10, end - at - 10)).value_or("?");
    at = end + 2;
  }
  EXPECT_EQ(decoded, m.subject);
}

}  // namespace
}  // namespace kiln::delivery
