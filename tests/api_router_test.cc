// The API in process: the route table against docs/openapi.yaml, and requests handed to
// Api::Handle with no server, no socket and no process — auth and roles, 404 and 405, the
// metrics labels and the pool decision, a build's whole way through the worker protocol.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/sha256.h"
#include "server/api.h"
#include "server/route_table.h"
#include "server/tokens.h"

namespace kiln::server {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

TEST(RouteTableTest, EveryRouteIsDocumentedAndEveryDocumentedRouteIsInTheTable) {
  YAML::Node doc = YAML::LoadFile(std::string(KILN_SOURCE_DIR) + "/docs/openapi.yaml");
  std::set<std::string> documented, routed;
  for (const auto& path_item : doc["paths"]) {
    for (const auto& method : path_item.second) {
      std::string m = method.first.as<std::string>();
      if (m == "parameters") continue;
      for (char& c : m) c = static_cast<char>(std::toupper(c));
      documented.insert(m + " " + path_item.first.as<std::string>());
    }
  }
  for (const Route& r : Routes()) {
    routed.insert(std::string(r.method) + " " + std::string(r.pattern));
    EXPECT_NE(r.handler, nullptr) << r.pattern;
  }
  for (const std::string& r : routed) EXPECT_TRUE(documented.count(r)) << r << " is not documented";
  for (const std::string& d : documented) EXPECT_TRUE(routed.count(d)) << d << " has no route";
}

TEST(RouteTableTest, LiteralSegmentsWinAndOtherMethodsAreListed) {
  RouteMatch batch = MatchRoute("GET", "/api/v1/builds/batch");
  EXPECT_EQ(batch.route, nullptr) << "a GET of batch is not build 'batch'";
  EXPECT_EQ(batch.pattern, "/api/v1/builds/batch");
  EXPECT_EQ(batch.allowed, "POST");

  RouteMatch build = MatchRoute("GET", "/api/v1/builds/17/");
  ASSERT_NE(build.route, nullptr);
  EXPECT_EQ(build.pattern, "/api/v1/builds/{id}");
  EXPECT_EQ(build.id, "17");
  EXPECT_EQ(MatchRoute("PUT", "/api/v1/builds/17").allowed, "GET, DELETE");

  RouteMatch artifact = MatchRoute("HEAD", "/api/v1/builds/3/artifacts/disk.raw");
  ASSERT_NE(artifact.route, nullptr);
  EXPECT_EQ(artifact.id, "3");
  EXPECT_EQ(artifact.name, "disk.raw");

  EXPECT_TRUE(MatchRoute("GET", "/api/v1/nothing").pattern.empty());
  EXPECT_EQ(MatchRoute("GET", "/").pattern, "/") << "the dashboard";
  EXPECT_EQ(MatchRoute("GET", "/builds/5").id, "5");
  EXPECT_TRUE(MatchRoute("GET", "/static/a/b.js").pattern.empty()) << "one segment only";
  EXPECT_TRUE(MatchRoute("GET", "/api/v1/builds/1/artifacts").pattern.empty());
}

class ApiInProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-api-router-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = store::Store::Open(dir_ / "kiln.db");
    co_ = std::make_unique<Coordinator>(*store_, dir_);
    ApiOptions options;
    options.fetch_urls = false;
    api_ = std::make_unique<Api>(*co_, options);
    store_->AddUser("admin", Role::kAdmin, "");
    store_->AddUser("bob", Role::kUser, "");
    admin_ = Token({"admin", "", "test"});
    bob_ = Token({"bob", "", "test"});
    worker_ = Token({"", "host1", "test"});
  }
  void TearDown() override {
    api_.reset();
    co_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  std::string Token(const TokenRequest& r) {
    Result<IssuedToken> t = IssueToken(*store_, r);
    EXPECT_TRUE(t.ok()) << t.message();
    return t.ok() ? t->token : "";
  }

  // The request as the server would hand it over: path and query split, headers lower-case.
  static HttpRequest Request(std::string method, std::string target, const std::string& token,
                             std::string body = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.target = target;
    size_t q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) {
      EXPECT_TRUE(ParseQuery(target.substr(q + 1), r.query));
    }
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    if (!body.empty()) r.headers.emplace_back("content-type", "application/json");
    r.body = std::move(body);
    r.remote = "127.0.0.2";
    return r;
  }
  HttpResponse Call(std::string method, std::string target, const std::string& token,
                    std::string body = "") {
    HttpRequest r = Request(std::move(method), std::move(target), token, std::move(body));
    return api_->Handle(r);
  }
  static json Body(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }
  static std::string Code(const HttpResponse& r) {
    json j = Body(r);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Coordinator> co_;
  std::unique_ptr<Api> api_;
  std::string admin_, bob_, worker_;
};

const char* kBuildRequest =
    R"({"type": "tar", "arch": "x86_64", "release": "bookworm",
        "kickstart": "lang en_US.UTF-8\nrootpw --lock\n%packages\nopenssh-server\n%end\n"})";

TEST_F(ApiInProcessTest, RolesAreCheckedFromTheTable) {
  EXPECT_EQ(Call("GET", "/api/v1/health", "").status, 200);
  HttpResponse anonymous = Call("GET", "/api/v1/builds", "");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(Code(anonymous), "unauthorized");
  EXPECT_EQ(Call("GET", "/api/v1/nothing", "").status, 401) << "credentials before 404";

  EXPECT_EQ(Call("GET", "/api/v1/builds", bob_).status, 200);
  HttpResponse not_admin = Call("POST", "/api/v1/tokens", bob_, R"({"user":"bob"})");
  EXPECT_EQ(not_admin.status, 403);
  EXPECT_NE(Body(not_admin)["error"]["message"].get<std::string>().find("only admins"),
            std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/tokens", admin_, R"({"user":"bob"})").status, 201);
  EXPECT_EQ(Call("POST", "/api/v1/users/bob/unlock", bob_, "{}").status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/users/bob/unlock", admin_, "{}").status, 200);

  HttpResponse worker_on_user_route = Call("GET", "/api/v1/builds", worker_);
  EXPECT_EQ(worker_on_user_route.status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/worker/alive", bob_, R"({"worker":"x"})").status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/worker/alive", worker_, R"({"worker":"x"})").status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/worker/nothing", worker_, R"({"worker":"x"})").status, 404);
}

TEST_F(ApiInProcessTest, UnknownPathsAre404AndOtherMethods405WithAllow) {
  HttpResponse none = Call("GET", "/api/v1/nothing", bob_);
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.body.find("no such route"), std::string::npos);
  HttpResponse wrong = Call("PUT", "/api/v1/builds", bob_, "{}");
  EXPECT_EQ(wrong.status, 405);
  auto allow = std::find_if(wrong.headers.begin(), wrong.headers.end(),
                            [](const auto& h) { return h.first == "Allow"; });
  ASSERT_NE(allow, wrong.headers.end());
  EXPECT_EQ(allow->second, "GET, POST");
  EXPECT_EQ(Call("GET", "/api/v1/worker/register", worker_).status, 405);
}

TEST_F(ApiInProcessTest, LabelsAndThePoolDecisionComeFromTheRoute) {
  EXPECT_EQ(Api::RouteLabel(Request("GET", "/api/v1/builds/12", "")), "/api/v1/builds/{id}");
  EXPECT_EQ(Api::RouteLabel(Request("GET", "/api/v1/builds/12/artifacts/x.tar", "")),
            "/api/v1/builds/{id}/artifacts/{name}");
  EXPECT_EQ(Api::RouteLabel(Request("GET", "/made/up/path", "")), "other");
  EXPECT_TRUE(Api::IsQuick(Request("GET", "/api/v1/builds/12", bob_)));
  EXPECT_TRUE(Api::IsQuick(Request("POST", "/api/v1/worker/7/heartbeat", worker_, "{}")));
  EXPECT_TRUE(Api::IsQuick(Request("POST", "/api/v1/builds", bob_, kBuildRequest)));
  EXPECT_FALSE(Api::IsQuick(Request("POST", "/api/v1/builds", bob_, std::string(70000, ' '))))
      << "a large body is parsed on the pool";
  EXPECT_FALSE(Api::IsQuick(Request("POST", "/api/v1/session", "", "{}"))) << "hashes";
  EXPECT_FALSE(Api::IsQuick(Request("DELETE", "/api/v1/builds/3", bob_)));
  EXPECT_TRUE(Api::IsUpload(Request("PUT", "/api/v1/worker/3/artifacts/x.tar", worker_)));
  EXPECT_FALSE(Api::IsUpload(Request("POST", "/api/v1/worker/3/artifacts/x.tar", worker_)));
}

static std::string HeaderOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST_F(ApiInProcessTest, PagesSendASignedOutBrowserToSignInAndBack) {
  HttpResponse signed_out = Call("GET", "/builds/7?tab=log", "");
  EXPECT_EQ(signed_out.status, 303);
  EXPECT_EQ(HeaderOf(signed_out, "Location"), "/login?next=/builds/7%3Ftab%3Dlog");
  EXPECT_EQ(HeaderOf(Call("GET", "/", ""), "Location"), "/login?next=/");
  HttpRequest stale = Request("GET", "/workers", "");
  stale.headers.emplace_back("cookie", "kiln_session=expired-or-made-up");
  EXPECT_EQ(api_->Handle(stale).status, 303) << "an ended session signs in again";
  EXPECT_EQ(Call("GET", "/api/v1/builds", "").status, 401) << "the API still answers 401";
  EXPECT_EQ(Call("GET", "/", worker_).status, 403) << "a worker token opens no page";

  HttpResponse login = Call("GET", "/login", "");
  ASSERT_EQ(login.status, 200);
  EXPECT_NE(login.body.find("<form id=\"sign-in\""), std::string::npos);
  EXPECT_NE(login.body.find("src=\"/static/login.js\""), std::string::npos);
  EXPECT_EQ(login.body.find("{{"), std::string::npos) << "every placeholder filled";
  std::string policy = HeaderOf(login, "Content-Security-Policy");
  EXPECT_NE(policy.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(HeaderOf(login, "X-Frame-Options"), "DENY");

  HttpRequest again = Request("GET", "/login", "");
  again.headers.emplace_back("if-none-match", HeaderOf(login, "ETag"));
  HttpResponse unchanged = api_->Handle(again);
  EXPECT_EQ(unchanged.status, 304);
  EXPECT_TRUE(unchanged.body.empty());
}

TEST_F(ApiInProcessTest, PagesAndTheirFiles) {
  HttpResponse form = Call("GET", "/build", bob_);
  ASSERT_EQ(form.status, 200);
  // The request-field table made the form's fields (a row there is a field here).
  EXPECT_NE(form.body.find("id=\"f-label\" name=\"label\" data-request-field"), std::string::npos);
  EXPECT_NE(form.body.find("<div class=\"field\" data-types=\"live\">"), std::string::npos);
  EXPECT_NE(form.body.find("<textarea id=\"f-extra_packages\""), std::string::npos);
  EXPECT_EQ(form.body.find("{{"), std::string::npos);

  HttpResponse script = Call("GET", "/static/kiln.js", "");
  ASSERT_EQ(script.status, 200) << "files are open: they hold no one's data";
  EXPECT_EQ(HeaderOf(script, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("X-CSRF-Token"), std::string::npos);
  EXPECT_EQ(Call("GET", "/static/kiln.css", "").status, 200);
  EXPECT_EQ(Call("GET", "/static/page.html", "").status, 404) << "parts are not pages";
  EXPECT_EQ(Call("GET", "/static/..%2Fkiln.db", bob_).status, 404);

  HttpResponse submitted = Call("POST", "/api/v1/builds", bob_, kBuildRequest);
  ASSERT_EQ(submitted.status, 201);
  std::string page = "/builds/" + std::to_string(Body(submitted)["id"].get<int64_t>());
  EXPECT_EQ(Call("GET", page, bob_).status, 200);
  EXPECT_EQ(Call("GET", page, admin_).status, 200);
  store_->AddUser("carol", Role::kUser, "");
  HttpResponse not_hers = Call("GET", page, Token({"carol", "", "test"}));
  EXPECT_EQ(not_hers.status, 404) << "another user's build page is not found";
  EXPECT_EQ(not_hers.body.find("bookworm"), std::string::npos);
  EXPECT_EQ(Call("GET", "/builds/999", bob_).status, 404);

  EXPECT_EQ(Call("GET", "/admin", bob_).status, 403);
  EXPECT_EQ(Call("GET", "/admin", admin_).status, 200);
}

TEST_F(ApiInProcessTest, AnUploadThatIsNotADebIsRefusedAndNothingIsStored) {
  std::string boundary = "kiln-boundary";
  auto part = [&](const std::string& name, const std::string& data, const std::string& file = "") {
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"" +
           (file.empty() ? "" : "; filename=\"" + file + "\"") + "\r\n\r\n" + data + "\r\n";
  };
  HttpRequest r = Request("POST", "/api/v1/builds", bob_);
  r.headers.emplace_back("content-type", "multipart/form-data; boundary=" + boundary);
  r.body = part("type", "tar") + part("kickstart", "lang C\n%packages\njq\n%end\n", "a.ks") +
           part("package", "#!/bin/sh\nrm -rf /\n", "tool_1.0_all.deb") + "--" + boundary +
           "--\r\n";
  HttpResponse refused = api_->Handle(r);
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(Code(refused), "not-a-deb");
  EXPECT_TRUE(Body(Call("GET", "/api/v1/builds", bob_))["builds"].empty());
  EXPECT_FALSE(fs::exists(dir_ / "uploads") && !fs::is_empty(dir_ / "uploads"));
}

TEST_F(ApiInProcessTest, AdminsManageUsersAndTokens) {
  EXPECT_EQ(Call("GET", "/api/v1/users", bob_).status, 403);
  HttpResponse added = Call("POST", "/api/v1/users", admin_,
                            R"({"name":"dave","role":"user","password":"long enough"})");
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(Body(added)["password"], true);
  EXPECT_EQ(Call("POST", "/api/v1/users", admin_, R"({"name":"dave"})").status, 409);
  EXPECT_EQ(Code(Call("POST", "/api/v1/users", admin_, R"({"name":"../x"})")), "bad-name");
  EXPECT_EQ(Code(Call("POST", "/api/v1/users", admin_, R"({"name":"w","role":"worker"})")),
            "bad-role");
  EXPECT_EQ(Code(Call("POST", "/api/v1/users", admin_, R"({"name":"e","password":"short"})")),
            "weak-password");

  std::string dave = Token({"dave", "", "test"});
  EXPECT_EQ(Call("GET", "/api/v1/builds", dave).status, 200);
  json users = Body(Call("GET", "/api/v1/users", admin_))["users"];
  auto find = [&](const std::string& name) {
    for (const json& u : users) {
      if (u["name"] == name) return u;
    }
    return json();
  };
  EXPECT_EQ(find("dave")["tokens"], 1);
  EXPECT_TRUE(find("dave")["disabled_at"].is_null());

  HttpResponse disabled = Call("POST", "/api/v1/users/dave/disable", admin_, "{}");
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  EXPECT_TRUE(Body(disabled)["disabled_at"].is_string());
  EXPECT_EQ(Call("GET", "/api/v1/builds", dave).status, 401) << "at once: no cached token";
  HttpResponse sign_in =
      Call("POST", "/api/v1/session", "", R"({"user":"dave","password":"long enough"})");
  EXPECT_EQ(sign_in.status, 403);
  EXPECT_EQ(Code(sign_in), "user-disabled");
  EXPECT_EQ(Call("POST", "/api/v1/users/admin/disable", admin_, "{}").status, 409);
  EXPECT_EQ(Call("POST", "/api/v1/users/dave/enable", admin_, "{}").status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/builds", dave).status, 200);

  json tokens = Body(Call("GET", "/api/v1/tokens", admin_))["tokens"];
  int64_t daves = 0;
  for (const json& t : tokens) {
    EXPECT_FALSE(t.contains("token")) << "no secret is ever listed";
    if (t["user"] == "dave") daves = t["id"].get<int64_t>();
  }
  ASSERT_GT(daves, 0);
  std::string revoke = "/api/v1/tokens/" + std::to_string(daves);
  EXPECT_EQ(Call("DELETE", revoke, bob_).status, 403);
  EXPECT_EQ(Call("DELETE", revoke, admin_).status, 200);
  EXPECT_EQ(Call("DELETE", revoke, admin_).status, 404);
  EXPECT_EQ(Call("GET", "/api/v1/builds", dave).status, 401);

  ASSERT_EQ(Call("POST", "/api/v1/builds", bob_, kBuildRequest).status, 201);
  EXPECT_EQ(Code(Call("DELETE", "/api/v1/users/bob", admin_)), "user-has-builds");
  EXPECT_EQ(Call("DELETE", "/api/v1/users/bob?with_builds=1", admin_).status, 200);
  EXPECT_EQ(Call("DELETE", "/api/v1/users/dave", admin_).status, 200);
  EXPECT_EQ(Call("DELETE", "/api/v1/users/dave", admin_).status, 404);
  EXPECT_EQ(Call("DELETE", "/api/v1/users/admin", admin_).status, 409);
}

// A user's own settings: their address and webhooks added to every build's, or no e-mail at
// all (the request's addresses dropped, with a warning); bad values refused, nothing stored.
TEST_F(ApiInProcessTest, ASettingAddsAnAddressAndWebhooksOrOptsOutOfEmail) {
  store_->EnableDeliveries(/*mail=*/true, /*staging=*/false);
  json fresh = Body(Call("GET", "/api/v1/settings", bob_));
  EXPECT_EQ(fresh["email"], "");
  EXPECT_EQ(fresh["email_opt_out"], false);
  EXPECT_EQ(fresh["webhooks"], json::array());

  EXPECT_EQ(Code(Call("PATCH", "/api/v1/settings", bob_, R"({"email": "a@b\r\nBcc: x@y.org"})")),
            "bad-setting");
  EXPECT_EQ(Code(Call("PATCH", "/api/v1/settings", bob_, R"({"email_opt_out": "yes"})")),
            "bad-setting");
  EXPECT_EQ(Code(Call("PATCH", "/api/v1/settings", bob_, R"({"webhook": []})")), "bad-setting")
      << "an unknown setting";
  EXPECT_EQ(Code(Call("PATCH", "/api/v1/settings", bob_, R"({"webhooks": ["ftp://h.org/x"]})")),
            "bad-setting");
  EXPECT_EQ(Code(Call("PATCH", "/api/v1/settings", bob_,
                      R"({"webhooks": ["https://127.0.0.1:9/hook"]})")),
            "address-refused");
  EXPECT_EQ(Code(Call("PATCH", "/api/v1/settings", bob_,
                      R"({"webhooks": ["https://u:p@hooks.example.org/"]})")),
            "credentials-in-url");
  json staged = json::parse(kBuildRequest);
  staged["staging"] = {"ftp://127.0.0.1/pub/"};
  EXPECT_EQ(Code(Call("POST", "/api/v1/builds", bob_, staged.dump())), "address-refused")
      << "a staging target is held to the same policy as a webhook";
  json six = {{"webhooks", json::array()}};
  for (int i = 0; i < 6; ++i) six["webhooks"].push_back("https://h" + std::to_string(i) + ".org/");
  EXPECT_EQ(Code(Call("PATCH", "/api/v1/settings", bob_, six.dump())), "bad-setting");
  EXPECT_EQ(Call("PATCH", "/api/v1/settings", bob_, "[]").status, 400);
  EXPECT_EQ(Body(Call("GET", "/api/v1/settings", bob_)), fresh) << "nothing refused was kept";

  HttpResponse set = Call("PATCH", "/api/v1/settings", bob_,
                          R"({"email": "bob@example.org",
                              "webhooks": ["HTTPS://Hooks.Example.org/kiln"]})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Body(set)["webhooks"][0], "https://hooks.example.org/kiln") << "stored normalised";
  EXPECT_EQ(Body(Call("GET", "/api/v1/settings", admin_))["email"], "") << "bob's own";

  auto submit = [&](const std::string& name) {
    json req = json::parse(kBuildRequest);
    req["name"] = name;
    req["notify"] = {{"email", {"alice@example.org"}}};
    HttpResponse r = Call("POST", "/api/v1/builds", bob_, req.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return Body(r);
  };
  auto targets = [&](int64_t id) {
    std::set<std::string> out;
    for (const store::Delivery& d : store_->DeliveriesOf(id)) out.insert(d.kind + " " + d.target);
    return out;
  };
  json first = submit("first");
  EXPECT_EQ(targets(first["id"]),
            (std::set<std::string>{"email alice@example.org", "email bob@example.org",
                                   "webhook https://hooks.example.org/kiln"}));

  ASSERT_EQ(Call("PATCH", "/api/v1/settings", bob_, R"({"email_opt_out": true})").status, 200);
  EXPECT_EQ(Body(Call("GET", "/api/v1/settings", bob_))["email"], "bob@example.org")
      << "what the body does not name stays";
  json second = submit("second");
  EXPECT_EQ(targets(second["id"]),
            (std::set<std::string>{"webhook https://hooks.example.org/kiln"}));
  ASSERT_EQ(second["warnings"].size(), 1u) << second.dump();
  EXPECT_NE(second["warnings"][0]["message"].get<std::string>().find("opted out"),
            std::string::npos);
}

// A user's builds send at most the server's daily number of e-mails ([smtp]
// daily_limit_per_user): a submit or a batch that would pass it is refused whole, with how
// many were queued; another user's count is their own.
TEST_F(ApiInProcessTest, AUsersBuildsSendAtMostTheDailyNumberOfEmails) {
  ApiOptions limited;
  limited.fetch_urls = false;
  limited.email_daily_limit = 6;
  api_ = std::make_unique<Api>(*co_, limited);
  store_->EnableDeliveries(/*mail=*/true, /*staging=*/false);
  auto request = [](const std::string& name, std::vector<std::string> emails) {
    json req = json::parse(kBuildRequest);
    req["name"] = name;
    req["notify"] = {{"email", emails}};
    return req;
  };
  HttpResponse first =
      Call("POST", "/api/v1/builds", bob_, request("a", {"x@example.org", "y@example.org"}).dump());
  ASSERT_EQ(first.status, 201) << first.body;  // 4 messages: accepted and ended, twice
  HttpResponse over =
      Call("POST", "/api/v1/builds", bob_, request("b", {"x@example.org", "y@example.org"}).dump());
  EXPECT_EQ(over.status, 429) << over.body;
  EXPECT_EQ(Code(over), "email-limit");
  EXPECT_NE(Body(over)["error"]["message"].get<std::string>().find("24 hours send 4)"),
            std::string::npos)
      << "the ended messages counted before they are queued: " << over.body;
  json batch = {{"builds", {request("c", {"x@example.org"}), request("d", {"y@example.org"})}}};
  HttpResponse refused = Call("POST", "/api/v1/builds/batch", bob_, batch.dump());
  EXPECT_EQ(refused.status, 429) << "4 + 2 + 2 > 6: " << refused.body;
  EXPECT_EQ(Body(refused)["error"]["index"], 1);
  EXPECT_EQ(Call("POST", "/api/v1/builds", bob_, request("e", {}).dump()).status, 201)
      << "a build that e-mails no one is not limited";
  EXPECT_EQ(Call("POST", "/api/v1/builds", admin_,
                 request("f", {"x@example.org", "y@example.org"}).dump())
                .status,
            201)
      << "another user's count is their own";
  EXPECT_EQ(Body(Call("GET", "/api/v1/builds?limit=50", bob_))["builds"].size(), 2u)
      << "nothing of a refused request stays";
}

// What the seed's cli/build_rest.py sends: each file's text JSON-encoded a second time inside
// the body, and its token only as Basic credentials in its API_URL (USER:TOKEN@host).
TEST_F(ApiInProcessTest, TheSeedsRestClientWorksWithItsOwnWireFormat) {
  const std::string conf =
      "# the seed's imagebuild.conf\n[DEFAULT]\ntype=live\narch=x86_64\nrelease=bookworm\n"
      "[live]\nlabel=SEED_REST\nconfig=/home/me/seed.ks\n";
  const std::string ks = "lang en_US.UTF-8\nrootpw --lock\n%packages\nopenssh-server\n%end\n";
  json seed = {
      {"config", json(conf).dump()}, {"ksfname", "/home/me/seed.ks"}, {"ks", json(ks).dump()}};
  auto basic = [](const std::string& user, const std::string& token) {
    // base64 of "user:token", as Python's requests sends it (no padding rules to get wrong:
    // the encoder below is the textbook one).
    static const char* kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string in = user + ":" + token, out;
    for (size_t i = 0; i < in.size(); i += 3) {
      uint32_t n = static_cast<uint8_t>(in[i]) << 16;
      if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
      if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
      out += kAlphabet[(n >> 18) & 63];
      out += kAlphabet[(n >> 12) & 63];
      out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
      out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
    }
    return "Basic " + out;
  };
  auto post = [&](const std::string& path, const std::string& authorization,
                  const std::string& type = "application/json") {
    HttpRequest r = Request("POST", path, "", seed.dump());
    r.headers.clear();
    r.headers.emplace_back("authorization", authorization);
    r.headers.emplace_back("content-type", type);
    return api_->Handle(r);
  };

  HttpResponse built = post("/rest", basic("bob", bob_));
  ASSERT_EQ(built.status, 201) << built.body;
  json b = Body(built);
  EXPECT_EQ(b["owner"], "bob");
  EXPECT_EQ(b["type"], "live");
  EXPECT_EQ(b["spec"]["label"], "SEED_REST");
  EXPECT_NE(b["spec"]["kickstart"].get<std::string>().find("openssh-server"), std::string::npos);

  // The same texts sent once-encoded (kiln's own clients) make the same spec: the request
  // attaches to the build in flight (200, not a new 201).
  seed["config"] = conf;
  seed["ks"] = ks;
  HttpResponse plain = Call("POST", "/rest", bob_, seed.dump());
  EXPECT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(Body(plain)["id"], b["id"]);
  EXPECT_EQ(Body(plain)["spec_hash"], b["spec_hash"]);

  EXPECT_EQ(Code(post("/rest", basic("admin", bob_))), "unauthorized") << "bob's token as admin";
  EXPECT_EQ(post("/rest", basic("bob", "kiln_nope")).status, 401);
  EXPECT_EQ(post("/api/v1/builds", basic("bob", bob_)).status, 401) << "Basic only on /rest";
  EXPECT_EQ(post("/rest", basic("bob", bob_), "text/plain").status, 415)
      << "a cross-site form cannot post JSON: Basic changes only as JSON";
  EXPECT_EQ(post("/rest", "").status, 401);

  HttpResponse page = Call("GET", "/rest", "");
  EXPECT_EQ(page.status, 200) << "open, as the seed's";
  EXPECT_NE(page.body.find("<p>REST API"), std::string::npos) << page.body;
}

TEST_F(ApiInProcessTest, ABuildGoesThroughTheWorkerProtocolInProcess) {
  HttpResponse submitted = Call("POST", "/api/v1/builds", bob_, kBuildRequest);
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  int64_t id = Body(submitted)["id"].get<int64_t>();
  std::string build = "/api/v1/builds/" + std::to_string(id);
  EXPECT_EQ(Call("GET", build, admin_).status, 200);
  EXPECT_EQ(Call("GET", build, worker_).status, 403);

  // host1's token acts as host1 (a worker id it names elsewhere is bound under it).
  HttpResponse claimed =
      Call("POST", "/api/v1/worker/claim", worker_, R"({"worker":"host1/1","arches":"x86_64"})");
  ASSERT_EQ(claimed.status, 200) << claimed.body;
  json ticket = Body(claimed);
  EXPECT_EQ(ticket["build_id"], id);
  EXPECT_EQ(ticket["spec"]["type"], "tar");
  std::string worker_route = "/api/v1/worker/" + std::to_string(id);
  json attempt = {{"worker", "host1/1"}, {"attempt", ticket["attempt"]}};
  EXPECT_EQ(Body(Call("POST", worker_route + "/heartbeat", worker_, attempt.dump()))["lease"],
            "held");
  json other = attempt;
  other["worker"] = "host2/1";
  EXPECT_EQ(Body(Call("POST", worker_route + "/heartbeat", worker_, other.dump()))["lease"], "lost")
      << "host1's token names host2: bound as host1/host2, which holds nothing";

  json events = attempt;
  events["events"] = {{{"kind", "log"}, {"data", {{"line", "building in process"}}}}};
  EXPECT_EQ(Call("POST", worker_route + "/events", worker_, events.dump()).status, 200);

  // An artifact as one request's body (the server streams it; the handler takes it whole).
  std::string content(10000, 'k');
  HttpRequest put = Request("PUT",
                            worker_route + "/artifacts/image.tar?worker=host1/1&attempt=" +
                                std::to_string(ticket["attempt"].get<int>()),
                            worker_);
  put.headers.emplace_back("x-kiln-sha256", Sha256Hex(content));
  put.headers.emplace_back("content-length", std::to_string(content.size()));
  put.body = content;
  HttpResponse uploaded = api_->Handle(put);
  ASSERT_EQ(uploaded.status, 201) << uploaded.body;

  json result = attempt;
  result["state"] = "succeeded";
  EXPECT_EQ(Call("POST", worker_route + "/result", worker_, result.dump()).status, 200);
  json done = Body(Call("GET", build, bob_));
  EXPECT_EQ(done["state"], "succeeded");
  ASSERT_EQ(done["artifacts"].size(), 1u);
  EXPECT_EQ(done["artifacts"][0]["sha256"], Sha256Hex(content));

  HttpResponse download = Call("GET", build + "/artifacts/image.tar", bob_);
  ASSERT_EQ(download.status, 200) << download.body;
  ASSERT_TRUE(download.file);
  EXPECT_EQ(download.file->length, content.size());
  std::ifstream in(download.file->path, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), content);

  HttpResponse log = Call("GET", build + "/log", bob_);
  EXPECT_NE(log.body.find("building in process"), std::string::npos) << log.body;
  EXPECT_EQ(Call("DELETE", build, bob_).status, 204);
  EXPECT_EQ(Call("GET", build, bob_).status, 404);
}

}  // namespace
}  // namespace kiln::server
