// docs/openapi.yaml against a real `kiln serve`: every documented route and method exists,
// every route the server answers is documented, and the JSON the server sends matches the
// documented schemas (types, required fields, enums, nullability, $ref/allOf, arrays).
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <set>

#include "service_harness.h"

namespace kiln::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class OpenApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_ALL);
    spec_ = YAML::LoadFile(std::string(KILN_SOURCE_DIR) + "/docs/openapi.yaml");
    dir_ = fs::temp_directory_path() / ("kiln-openapi-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    service_ = new Service(KILN_BINARY, dir_);
    ASSERT_TRUE(service_->Start()) << service_->Log();
    token_ = service_->AdminToken();
  }
  static void TearDownTestSuite() {
    delete service_;
    fs::remove_all(dir_);
  }
  static std::vector<std::string> Auth() {
    return {"Authorization: Bearer " + token_, "Content-Type: application/json"};
  }

  // The schema at a "#/components/schemas/X" reference.
  static YAML::Node Resolve(const YAML::Node& schema) {
    if (schema["$ref"]) {
      std::string ref = schema["$ref"].as<std::string>();
      std::string name = ref.substr(ref.rfind('/') + 1);
      return spec_["components"]["schemas"][name];
    }
    return schema;
  }

  // Every mismatch between `value` and `schema`, as "path: problem" lines.
  static void Check(const json& value, YAML::Node schema, const std::string& path,
                    std::vector<std::string>& problems) {
    schema = Resolve(schema);
    if (schema["allOf"]) {
      for (const YAML::Node& part : schema["allOf"]) Check(value, part, path, problems);
      return;
    }
    if (value.is_null()) {
      if (!(schema["nullable"] && schema["nullable"].as<bool>())) {
        problems.push_back(path + ": null but not nullable");
      }
      return;
    }
    std::string type = schema["type"] ? schema["type"].as<std::string>() : "";
    bool ok = type.empty() || (type == "object" && value.is_object()) ||
              (type == "array" && value.is_array()) || (type == "string" && value.is_string()) ||
              (type == "integer" && value.is_number_integer()) ||
              (type == "number" && value.is_number()) || (type == "boolean" && value.is_boolean());
    if (!ok) {
      problems.push_back(path + ": expected " + type + ", got " + value.dump());
      return;
    }
    if (schema["enum"] && value.is_string()) {
      bool listed = false;
      for (const YAML::Node& e : schema["enum"]) listed |= e.as<std::string>() == value;
      if (!listed) problems.push_back(path + ": " + value.dump() + " is not in the enum");
    }
    if (value.is_object()) {
      if (schema["required"]) {
        for (const YAML::Node& r : schema["required"]) {
          if (!value.contains(r.as<std::string>())) {
            problems.push_back(path + ": missing required " + r.as<std::string>());
          }
        }
      }
      if (schema["properties"]) {
        for (const auto& [k, v] : value.items()) {
          if (schema["properties"][k]) Check(v, schema["properties"][k], path + "." + k, problems);
        }
      }
    }
    if (value.is_array() && schema["items"]) {
      for (size_t i = 0; i < value.size(); ++i) {
        Check(value[i], schema["items"], path + "[" + std::to_string(i) + "]", problems);
      }
    }
  }

  // Checks a reply against the documented response of that path, method and status.
  static void Conforms(const std::string& path, const std::string& method, const HttpReply& r) {
    YAML::Node op = spec_["paths"][path][method];
    ASSERT_TRUE(op) << method << " " << path << " is not documented";
    YAML::Node response = op["responses"][std::to_string(r.status)];
    ASSERT_TRUE(response) << method << " " << path << " answered " << r.status
                          << ", which is not documented: " << r.body;
    if (response["$ref"]) response = spec_["components"]["responses"]["Error"];
    YAML::Node schema = response["content"]["application/json"]["schema"];
    if (!schema) return;
    std::vector<std::string> problems;
    Check(json::parse(r.body), schema, method + " " + path, problems);
    EXPECT_TRUE(problems.empty()) << [&] {
      std::string all;
      for (const std::string& p : problems) all += p + "\n";
      return all;
    }();
  }

  static inline YAML::Node spec_;
  static inline fs::path dir_;
  static inline Service* service_ = nullptr;
  static inline std::string token_;
};

TEST_F(OpenApiTest, EveryDocumentedRouteExists) {
  // A documented route answers something other than "no such route" and 405. (Ids no row
  // has: a DELETE of token 1 would revoke the admin's own.)
  for (const auto& path_item : spec_["paths"]) {
    std::string path = path_item.first.as<std::string>();
    std::string concrete = path;
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"{id}", "999999"}, {"{name}", "x"}}) {
      size_t at = concrete.find(from);
      if (at != std::string::npos) concrete.replace(at, from.size(), to);
    }
    for (const auto& method : path_item.second) {
      std::string m = method.first.as<std::string>();
      if (m == "parameters") continue;
      std::string upper = m;
      for (char& c : upper) c = static_cast<char>(std::toupper(c));
      HttpReply r = Http(upper, service_->Url(concrete), Auth(), "", 5);
      EXPECT_NE(r.status, 405) << upper << " " << path;
      if (r.status == 404 && !r.body.empty()) {
        EXPECT_EQ(r.body.find("no such route"), std::string::npos) << upper << " " << path;
      }
    }
  }
}

TEST_F(OpenApiTest, UndocumentedRoutesDoNotExist) {
  for (const char* path : {"/api/v1/builds/1/artifacts", "/api/v1/user", "/api/v1/build"}) {
    HttpReply r = Http("GET", service_->Url(path), Auth());
    EXPECT_EQ(r.status, 404) << path;
  }
}

TEST_F(OpenApiTest, ResponsesMatchTheirSchemas) {
  const char* ks = "lang C\nrootpw --lock\n%packages\njq\n%end\n";
  json req = {{"type", "tar"}, {"kickstart", ks}};
  HttpReply created = Http("POST", service_->Url("/api/v1/builds"), Auth(), req.dump());
  Conforms("/api/v1/builds", "post", created);
  std::string id = std::to_string(json::parse(created.body)["id"].get<int>());
  Conforms("/api/v1/builds", "post",
           Http("POST", service_->Url("/api/v1/builds"), Auth(), R"({"type": "floppy"})"));
  Conforms("/api/v1/builds", "get", Http("GET", service_->Url("/api/v1/builds"), Auth()));
  Conforms("/api/v1/builds", "get",
           Http("GET", service_->Url("/api/v1/builds?state=nope"), Auth()));
  Conforms("/api/v1/builds/{id}", "get",
           Http("GET", service_->Url("/api/v1/builds/" + id), Auth()));
  Conforms("/api/v1/builds/{id}", "get", Http("GET", service_->Url("/api/v1/builds/0"), Auth()));
  Conforms("/api/v1/builds/{id}/cancel", "post",
           Http("POST", service_->Url("/api/v1/builds/" + id + "/cancel"), Auth()));
  Conforms("/api/v1/builds/{id}/cancel", "post",
           Http("POST", service_->Url("/api/v1/builds/" + id + "/cancel"), Auth()));
  Conforms("/api/v1/builds/{id}/retry", "post",
           Http("POST", service_->Url("/api/v1/builds/" + id + "/retry"), Auth()));
  Conforms("/api/v1/builds/{id}/artifacts/{name}", "get",
           Http("GET", service_->Url("/api/v1/builds/" + id + "/artifacts/x.tar"), Auth()));
  Conforms("/api/v1/health", "get", Http("GET", service_->Url("/api/v1/health")));
  Conforms("/api/v1/releases", "get", Http("GET", service_->Url("/api/v1/releases"), Auth()));
  Conforms("/api/v1/users", "get", Http("GET", service_->Url("/api/v1/users"), Auth()));
  Conforms("/api/v1/users", "post",
           Http("POST", service_->Url("/api/v1/users"), Auth(), R"({"name": "schema-user"})"));
  Conforms("/api/v1/users/{name}/disable", "post",
           Http("POST", service_->Url("/api/v1/users/schema-user/disable"), Auth()));
  Conforms("/api/v1/tokens", "get", Http("GET", service_->Url("/api/v1/tokens"), Auth()));
  Conforms("/api/v1/workers", "get", Http("GET", service_->Url("/api/v1/workers"), Auth()));
  Conforms("/api/v1/settings", "get", Http("GET", service_->Url("/api/v1/settings"), Auth()));
  Conforms("/api/v1/settings", "patch",
           Http("PATCH", service_->Url("/api/v1/settings"), Auth(),
                R"({"email": "admin@example.org", "email_opt_out": true})"));
  Conforms("/api/v1/settings", "patch",
           Http("PATCH", service_->Url("/api/v1/settings"), Auth(), R"({"email": "no"})"));
  Conforms("/api/v1/kickstart/validate", "post",
           Http("POST", service_->Url("/api/v1/kickstart/validate"),
                {Auth()[0], "Content-Type: text/plain"}, ks));
  Conforms(
      "/api/v1/session", "post",
      Http("POST", service_->Url("/api/v1/session"), {}, R"({"user":"admin","password":"x"})"));
  json rest = {{"config", "[DEFAULT]\ntype=tar\n[tar]\n"}, {"ksfname", nullptr}, {"ks", ks}};
  Conforms("/rest", "post", Http("POST", service_->Url("/rest"), Auth(), rest.dump()));
}

}  // namespace
}  // namespace kiln::testing
