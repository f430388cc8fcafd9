#include "delivery/mail.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <ctime>
#include <memory>

#include "core/base64.h"
#include "core/grammar.h"
#include "core/sha256.h"
#include "core/text.h"

namespace kiln::delivery {

namespace {

// The seed wrote its values in quotes ('smtp.gmail.com'): one pair of them is taken off.
std::string Unquoted(std::string_view v) {
  v = Trim(v);
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front()) {
    v = v.substr(1, v.size() - 2);
  }
  return std::string(v);
}

bool OneLine(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

// An RFC 5322 date: "Sun, 06 Dec 2026 23:50:00 +0000".
std::string MailDate(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

// A header value in plain ASCII as it is; otherwise as one RFC 2047 encoded word per piece.
std::string HeaderText(std::string_view text) {
  bool ascii = std::all_of(text.begin(), text.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) return std::string(text);
  std::string out;
  // Pieces of 45 bytes keep each encoded word under 75 characters; a piece never splits a
  // UTF-8 sequence (continuation bytes stay with their lead byte).
  size_t at = 0;
  while (at < text.size()) {
    size_t end = std::min(text.size(), at + 45);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64Encode(text.substr(at, end - at)) + "?=";
    at = end;
  }
  return out;
}

// Base64 in lines of 76 characters (MIME's limit).
std::string Base64Lines(std::string_view bytes) {
  std::string encoded = Base64Encode(bytes);
  std::string out;
  for (size_t at = 0; at < encoded.size(); at += 76) out += encoded.substr(at, 76) + "\r\n";
  return out;
}

size_t ReadFromString(char* buffer, size_t size, size_t count, void* user) {
  auto* source = static_cast<std::string_view*>(user);
  size_t n = std::min(size * count, source->size());
  std::copy_n(source->data(), n, buffer);
  source->remove_prefix(n);
  return n;
}

}  // namespace

Result<SmtpConfig> SmtpConfigFromKeys(const std::map<std::string, std::string>& keys) {
  SmtpConfig c;
  for (const auto& [raw_key, raw_value] : keys) {
    std::string key = ToLower(raw_key);
    std::string value = Unquoted(raw_value);
    if (!OneLine(value)) return Status::Error("[smtp] " + key + ": the value has a line break");
    if (key == "server") {
      if (!IsHostName(value)) {
        return Status::Error("[smtp] server: '" + Printable(value) + "' is not a host name");
      }
      c.server = value;
    } else if (key == "port") {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), c.port);
      if (ec != std::errc() || end != value.data() + value.size() || c.port < 1 || c.port > 65535) {
        return Status::Error("[smtp] port: '" + Printable(value) + "' is not a port (1-65535)");
      }
    } else if (key == "login") {
      c.login = value;
    } else if (key == "password") {
      c.password = value;
    } else if (key == "from") {
      if (!IsEmailAddress(value)) {
        return Status::Error("[smtp] from: '" + Printable(value) + "' is not an e-mail address");
      }
      c.from = value;
    } else if (key == "ca_file") {
      if (!IsCleanAbsolutePath(value)) {
        return Status::Error("[smtp] ca_file: '" + Printable(value) + "' is not an absolute path");
      }
      c.ca_file = value;
    } else if (key == "daily_limit_per_user") {
      auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), c.daily_limit_per_user);
      if (ec != std::errc() || end != value.data() + value.size() || c.daily_limit_per_user < 0) {
        return Status::Error("[smtp] daily_limit_per_user: '" + Printable(value) +
                             "' is not a count of messages (0 = no limit)");
      }
    } else if (key == "starttls") {
      if (value == "auto") {
        c.starttls = SmtpConfig::StartTls::kAuto;
      } else if (value == "always") {
        c.starttls = SmtpConfig::StartTls::kAlways;
      } else if (value == "never") {
        c.starttls = SmtpConfig::StartTls::kNever;
      } else {
        return Status::Error("[smtp] starttls: '" + Printable(value) +
                             "' is not auto, always or never");
      }
    } else {
      return Status::Error("[smtp]: unknown key '" + Printable(raw_key) +
                           "' (known: server, port, login, password, from, starttls, ca_file, "
                           "daily_limit_per_user)");
    }
  }
  if (c.server.empty()) return Status::Error("[smtp] needs server = the SMTP server's host name");
  if (c.from.empty()) {
    if (!IsEmailAddress(c.login)) {
      return Status::Error("[smtp] needs from = the address kiln's messages come from",
                           "the seed's section had none: its login was the sender");
    }
    c.from = c.login;
  }
  return c;
}

Result<std::string> RenderMail(const Mail& mail) {
  for (const auto& [name, value] : {std::pair<const char*, const std::string&>{"From", mail.from},
                                    {"To", mail.to},
                                    {"Subject", mail.subject},
                                    {"Message-ID", mail.message_id},
                                    {"In-Reply-To", mail.in_reply_to}}) {
    if (!OneLine(value)) return Status::Error(std::string(name) + ": a line break in the value");
  }
  if (mail.text.empty() || mail.html.empty()) {
    return Status::Error("a message needs both its text and its HTML part (never blank)");
  }
  // The boundary is made from the Message-ID (unique per message); base64 bodies can never
  // contain its "=_".
  std::string boundary = "=_kiln_" + Sha256Hex(mail.message_id).substr(0, 24);
  std::string m;
  m += "From: " + mail.from + "\r\n";
  m += "To: " + mail.to + "\r\n";
  m += "Subject: " + HeaderText(mail.subject) + "\r\n";
  m += "Date: " + MailDate(mail.date_ms) + "\r\n";
  m += "Message-ID: " + mail.message_id + "\r\n";
  if (!mail.in_reply_to.empty()) {
    m += "In-Reply-To: " + mail.in_reply_to + "\r\n";
    m += "References: " + mail.in_reply_to + "\r\n";
  }
  m += "MIME-Version: 1.0\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += Base64Lines(mail.text);
  m += "--" + boundary + "\r\n";
  m += "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += Base64Lines(mail.html);
  m += "--" + boundary + "--\r\n";
  return m;
}

Status SendMail(const SmtpConfig& smtp, const std::string& to, const std::string& rendered) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Status::Error("cannot start libcurl");
  CURL* c = curl.get();
  // smtp://, STARTTLS when asked (or offered); port 465 is TLS from the first byte.
  std::string scheme = smtp.port == 465 ? "smtps://" : "smtp://";
  std::string url = scheme + smtp.server + ":" + std::to_string(smtp.port);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_USE_SSL,
                   smtp.starttls == SmtpConfig::StartTls::kAlways ? CURLUSESSL_ALL
                   : smtp.starttls == SmtpConfig::StartTls::kAuto ? CURLUSESSL_TRY
                                                                  : CURLUSESSL_NONE);
  if (!smtp.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, smtp.ca_file.c_str());
  if (!smtp.login.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, smtp.login.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, smtp.password.c_str());
  }
  std::string from = "<" + smtp.from + ">";
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt(
      curl_slist_append(nullptr, ("<" + to + ">").c_str()), curl_slist_free_all);
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  std::string_view source = rendered;
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadFromString);
  curl_easy_setopt(c, CURLOPT_READDATA, &source);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(rendered.size()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT, smtp.timeout_s);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, std::min(smtp.timeout_s, 15L));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    std::string why = error[0] != '\0' ? error : curl_easy_strerror(rc);
    return Status::Error("SMTP " + smtp.server + ":" + std::to_string(smtp.port) + ": " + why +
                             (code > 0 ? " (reply " + std::to_string(code) + ")" : ""),
                         code >= 500 && code < 600 ? "smtp-refused" : "smtp-unreachable");
  }
  return Status::Ok();
}

}  // namespace kiln::delivery
