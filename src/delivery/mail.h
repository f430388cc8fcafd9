// E-mail as kiln sends it: one message with a text/plain and a text/html part
// (multipart/alternative), a Message-ID, and In-Reply-To/References so that a build's two
// messages (accepted, ended) thread together; rendered here and handed to an SMTP server by
// libcurl (STARTTLS, optional login). The server config's [smtp] section says where.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/status.h"

namespace kiln::delivery {

struct SmtpConfig {
  std::string server;  // host name or address; "" = kiln sends no e-mail
  int port = 25;
  std::string login, password;  // "" = no AUTH
  std::string from;             // the envelope sender and From: address
  std::string ca_file;          // CA certificates for the server's TLS ("" = the system's)
  enum class StartTls { kAuto, kAlways, kNever };
  StartTls starttls = StartTls::kAuto;  // auto: when the server offers it
  long timeout_s = 30;                  // one message, connect to QUIT
  // Messages one user's builds may send in 24 hours (0 = no limit): a public service must not
  // become anyone's way to mail strangers. A submit past it is refused (429).
  int64_t daily_limit_per_user = 500;
};

// The [smtp] section's keys (server, port, login, password, from, starttls, ca_file,
// daily_limit_per_user), or the seed's [SMTP] with its values in quotes ('smtp.gmail.com'). The
// seed had no `from`: its login was the sender, and so it is here when `from` is missing. Unknown
// keys and bad values are errors that name the key.
Result<SmtpConfig> SmtpConfigFromKeys(const std::map<std::string, std::string>& keys);

struct Mail {
  std::string from, to;
  std::string subject;      // kiln's own words (and a build's name): one line
  std::string message_id;   // "<...@host>"
  std::string in_reply_to;  // "" = starts a thread
  int64_t date_ms = 0;
  std::string text, html;  // both parts; neither may be empty
};

// The message as it goes over SMTP: headers and MIME parts, CRLF line ends, bodies in base64
// (a log line may be longer than SMTP's 998 characters). An error if a part is empty or a
// header value would break its line (a CR or LF can never reach the headers).
Result<std::string> RenderMail(const Mail& mail);

// Sends a rendered message to `to` through the configured server. The error says what the
// server or the connection said.
Status SendMail(const SmtpConfig& smtp, const std::string& to, const std::string& rendered);

}  // namespace kiln::delivery
