// The web UI's pages and files, served from the binary (server/web_assets.h). A page is the
// shell (web/page.html: head, navigation) around the page's own part (web/pages/NAME.html),
// put together once; its script (web/NAME.js) does the rest through the same /api/v1 routes
// as the CLI. Every page and file carries a strict Content-Security-Policy: scripts only
// from this server, no inline code, nothing framed — untrusted text reaches the page only as
// text nodes.
#include <map>
#include <mutex>

#include "core/check.h"
#include "core/request_fields.h"
#include "core/sha256.h"
#include "core/text.h"
#include "server/handlers.h"
#include "server/web_assets.h"

namespace kiln::server {

namespace {

constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const WebAsset* FindAsset(std::string_view name) {
  for (const WebAsset& a : WebAssets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

void Replace(std::string& text, std::string_view placeholder, std::string_view value) {
  for (size_t at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
}

// The new-build form's fields, made from the request-field table (core/request_fields.h):
// a text box for each imagebuild.conf value, a list box (one item a line) for each list.
// type, arch, release and script_network have controls of their own in pages/build.html.
std::string RequestFieldsHtml() {
  std::string out;
  for (const RequestField& f : RequestFieldTable()) {
    if (!(f.conf || f.list != nullptr)) continue;
    std::string key = EscapeHtml(f.key);
    std::string id = "f-" + key;
    out += "<div class=\"field\"";
    if (!f.types.empty()) out += " data-types=\"" + EscapeHtml(f.types) + "\"";
    out += ">\n  <label for=\"" + id + "\">" + EscapeHtml(f.label) + "</label>\n  ";
    std::string attributes = "id=\"" + id + "\" name=\"" + key + "\" data-request-field " +
                             "aria-describedby=\"" + id + "-hint\"";
    std::string hint = EscapeHtml(f.help);
    if (f.list != nullptr) {
      out += "<textarea " + attributes + " rows=\"3\" spellcheck=\"false\"></textarea>";
      hint += "; one a line (or separated by ;)";
    }
    if (!f.seed_label.empty()) hint += ". The seed's form: “" + EscapeHtml(f.seed_label) + "”";
    if (f.list == nullptr) {
      out += "<input type=\"text\" " + attributes + ">";
    }
    out += "\n  <span class=\"hint\" id=\"" + id + "-hint\">" + hint + "</span>\n</div>\n";
  }
  return out;
}

struct RenderedPage {
  std::string html;
  std::string etag;
};

// The page `name` (web/pages/NAME.html in the shell), made on first use.
const RenderedPage& Page(std::string_view name, std::string_view title) {
  static std::mutex mu;
  static std::map<std::string, RenderedPage, std::less<>> pages;
  std::lock_guard<std::mutex> lock(mu);
  auto it = pages.find(name);
  if (it != pages.end()) return it->second;
  const WebAsset* shell = FindAsset("page.html");
  const WebAsset* main = FindAsset("pages/" + std::string(name) + ".html");
  KILN_CHECK(shell != nullptr && main != nullptr, "every page has its part in web/pages/");
  std::string html(shell->content);
  Replace(html, "{{main}}", main->content);
  Replace(html, "{{title}}", EscapeHtml(title));
  Replace(html, "{{page}}", name);
  Replace(html, "{{request-fields}}", RequestFieldsHtml());
  RenderedPage& page = pages[std::string(name)];
  page.etag = "\"" + Sha256Hex(html).substr(0, 32) + "\"";
  page.html = std::move(html);
  return page;
}

// A page or file, or 304 when the browser has this version already. "no-cache": the browser
// asks again each time (a cheap 304), so a new kiln's pages are never mixed with old scripts.
HttpResponse Served(const HttpRequest& req, int status, std::string_view media_type,
                    std::string_view body, const std::string& etag) {
  HttpResponse r;
  r.status = status;
  if (status == 200 && req.Header("if-none-match") == etag) {
    r.status = 304;
  } else {
    r.body = body;
    r.Set("Content-Type", std::string(media_type));
  }
  r.Set("ETag", etag);
  r.Set("Cache-Control", "no-cache");
  r.Set("Content-Security-Policy", std::string(kPolicy));
  r.Set("X-Content-Type-Options", "nosniff");
  r.Set("X-Frame-Options", "DENY");
  r.Set("Referrer-Policy", "same-origin");
  return r;
}

HttpResponse PageReply(RequestContext& ctx, std::string_view name, std::string_view title,
                       int status = 200) {
  const RenderedPage& page = Page(name, title);
  HttpResponse r = Served(ctx.req, status, "text/html; charset=utf-8", page.html, page.etag);
  if (ctx.req.method == "HEAD") r.head_only = true;
  return r;
}

// A short page of its own (no script): not found, not allowed.
HttpResponse PlainPage(int status, std::string_view title, std::string_view text) {
  HttpResponse r;
  r.status = status;
  r.Set("Content-Type", "text/html; charset=utf-8");
  r.Set("Content-Security-Policy", std::string(kPolicy));
  r.Set("X-Content-Type-Options", "nosniff");
  r.body =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      EscapeHtml(title) +
      " · kiln</title>"
      "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"
      "<link rel=\"stylesheet\" href=\"/static/kiln.css\"></head><body><main id=\"main\">"
      "<h1>" +
      EscapeHtml(title) + "</h1><p>" + EscapeHtml(text) +
      "</p><p><a href=\"/\">Your builds</a></p></main></body></html>\n";
  return r;
}

}  // namespace

// Where a signed-out browser goes: the sign-in page, then back here.
HttpResponse ToSignIn(const HttpRequest& req) {
  HttpResponse r;
  r.status = 303;
  r.Set("Location", "/login?next=" + PercentEncode(req.target));
  r.Set("Cache-Control", "no-store");
  return r;
}

HttpResponse StaticFile(RequestContext& ctx) {
  const WebAsset* asset = FindAsset(ctx.name);
  // Pages are served whole at their own paths, not as parts.
  if (asset == nullptr || EndsWith(asset->name, ".html")) {
    return PlainPage(404, "Not found", "There is no file " + std::string(ctx.name) + " here.");
  }
  static std::mutex mu;
  static std::map<std::string_view, std::string> etags;
  std::string etag;
  {
    std::lock_guard<std::mutex> lock(mu);
    std::string& kept = etags[asset->name];
    if (kept.empty()) kept = "\"" + Sha256Hex(asset->content).substr(0, 32) + "\"";
    etag = kept;
  }
  return Served(ctx.req, 200, asset->media_type, asset->content, etag);
}

HttpResponse LoginPage(RequestContext& ctx) { return PageReply(ctx, "login", "Sign in"); }
HttpResponse DashboardPage(RequestContext& ctx) { return PageReply(ctx, "dashboard", "Builds"); }
HttpResponse NewBuildPage(RequestContext& ctx) { return PageReply(ctx, "build", "New build"); }
HttpResponse WorkersPage(RequestContext& ctx) { return PageReply(ctx, "workers", "Workers"); }
HttpResponse SettingsPage(RequestContext& ctx) { return PageReply(ctx, "settings", "Settings"); }

HttpResponse BuildPage(RequestContext& ctx) {
  HttpResponse error;
  // Another user's build is not found, as in the API: its id tells nothing.
  if (!ctx.VisibleBuild(error)) {
    return PlainPage(404, "Not found", "There is no build " + std::string(ctx.id) + " of yours.");
  }
  return PageReply(ctx, "build-detail", "Build");
}

HttpResponse AdminPage(RequestContext& ctx) {
  if (!ctx.admin()) {
    return PlainPage(403, "Admins only", "Only an admin may manage users and tokens.");
  }
  return PageReply(ctx, "admin", "Admin");
}

}  // namespace kiln::server
