#include "delivery/messages.h"

#include <cstdio>

#include "core/text.h"

namespace kiln::delivery {

namespace {

std::string What(const BuildSummary& b) {
  std::string what = b.type + " image of " + b.release + " for " + b.arch;
  if (!b.name.empty()) what += " (" + b.name + ")";
  return b.dry_run ? "a plan (dry run) of a " + what : what;
}

std::string Duration(int64_t ms) {
  int64_t s = ms / 1000;
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lld min %lld s", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld h %lld min", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  }
  return buf;
}

std::string PageUrl(const BuildSummary& b, const std::string& base) {
  return base + "/builds/" + std::to_string(b.id);
}
std::string ApiUrl(const BuildSummary& b, const std::string& base) {
  return base + "/api/v1/builds/" + std::to_string(b.id);
}

// A line of the facts table: "  Label:  value" in text, a row in HTML.
struct Facts {
  std::string text, html;
  void Add(const std::string& label, const std::string& value) {
    text += "  " + label + ":" + std::string(label.size() < 10 ? 10 - label.size() : 1, ' ') +
            value + "\n";
    html += "<tr><th align=\"left\">" + EscapeHtml(label) + "</th><td>" + EscapeHtml(value) +
            "</td></tr>\n";
  }
};

std::string HtmlPage(const std::string& title, const std::string& body) {
  return "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + EscapeHtml(title) +
         "</title></head>\n<body style=\"font-family: sans-serif\">\n" + body +
         "<p style=\"color: #555\">kiln, the image build service</p>\n</body></html>\n";
}

const char* kSignature = "-- \nkiln, the image build service\n";

}  // namespace

std::string BuildMessageId(const BuildSummary& build, const std::string& which,
                           const std::string& from_address) {
  std::string domain = from_address.substr(from_address.rfind('@') + 1);
  return "<kiln-" + std::to_string(build.id) + "-" + std::to_string(build.created_ms) + "." +
         which + "@" + domain + ">";
}

Mail AcceptedMail(const BuildSummary& b, const std::string& base_url) {
  Mail m;
  m.subject = "[kiln] build " + std::to_string(b.id) + " accepted: " + What(b);
  Facts facts;
  facts.Add("Build", std::to_string(b.id));
  facts.Add("What", What(b));
  facts.Add("Owner", b.owner);
  facts.Add("Submitted", IsoTimeMs(b.created_ms));
  m.text = "Your build " + std::to_string(b.id) + " was accepted and is queued.\n\n" + facts.text +
           "\nFollow it: " + PageUrl(b, base_url) + "\nAPI: " + ApiUrl(b, base_url) +
           "\n\nAnother message follows when it ends.\n" + kSignature;
  m.html = HtmlPage(m.subject, "<p>Your build " + std::to_string(b.id) +
                                   " was accepted and is queued.</p>\n<table>\n" + facts.html +
                                   "</table>\n<p><a href=\"" + EscapeHtml(PageUrl(b, base_url)) +
                                   "\">Follow it</a> (API: <a href=\"" +
                                   EscapeHtml(ApiUrl(b, base_url)) + "\">" +
                                   EscapeHtml(ApiUrl(b, base_url)) +
                                   "</a>)</p>\n<p>Another message follows when it ends.</p>\n");
  return m;
}

Mail EndedMail(const BuildSummary& b, const std::string& base_url) {
  Mail m;
  m.subject = "[kiln] build " + std::to_string(b.id) + " " + b.state + ": " + What(b);
  Facts facts;
  facts.Add("Build", std::to_string(b.id));
  facts.Add("What", What(b));
  facts.Add("State", b.state);
  if (b.started_ms > 0 && b.finished_ms >= b.started_ms) {
    facts.Add("Duration", Duration(b.finished_ms - b.started_ms));
  }
  facts.Add("Finished", IsoTimeMs(b.finished_ms));
  std::string text = "Build " + std::to_string(b.id) + " " + b.state + ".\n\n" + facts.text;
  std::string html = "<p>Build " + std::to_string(b.id) + " <b>" + EscapeHtml(b.state) +
                     "</b>.</p>\n<table>\n" + facts.html + "</table>\n";
  if (b.state != "succeeded" && !b.error_message.empty()) {
    text += "\nWhat went wrong (" + b.error_class + "): " + b.error_message + "\n";
    html += "<h3>What went wrong (" + EscapeHtml(b.error_class) + ")</h3>\n<p>" +
            EscapeHtml(b.error_message) + "</p>\n";
    if (!b.error_hint.empty()) {
      text += "How to fix it: " + b.error_hint + "\n";
      html += "<p>How to fix it: " + EscapeHtml(b.error_hint) + "</p>\n";
    }
  }
  if (!b.artifacts.empty()) {
    text += "\nFiles:\n";
    html += "<h3>Files</h3>\n<table>\n";
    for (const ArtifactSummary& a : b.artifacts) {
      std::string link = ApiUrl(b, base_url) + "/artifacts/" + a.name;
      text += "  " + a.name + "  " + HumanBytes(a.size) + "\n    sha256 " + a.sha256 + "\n    " +
              link + "\n";
      html += "<tr><td><a href=\"" + EscapeHtml(link) + "\">" + EscapeHtml(a.name) +
              "</a></td><td>" + EscapeHtml(HumanBytes(a.size)) + "</td><td><code>" +
              EscapeHtml(a.sha256) + "</code></td></tr>\n";
    }
    html += "</table>\n";
  }
  if (!b.log_tail.empty()) {
    text += "\nThe log's last lines:\n";
    std::string lines;
    for (const std::string& line : b.log_tail) lines += line + "\n";
    for (const std::string& line : b.log_tail) text += "  | " + line + "\n";
    html += "<h3>The log's last lines</h3>\n<pre>" + EscapeHtml(lines) + "</pre>\n";
  }
  text += "\nThe build: " + PageUrl(b, base_url) + "\n" + kSignature;
  html += "<p><a href=\"" + EscapeHtml(PageUrl(b, base_url)) + "\">The build's page</a></p>\n";
  m.text = std::move(text);
  m.html = HtmlPage(m.subject, html);
  return m;
}

}  // namespace kiln::delivery
