// The kiln side of bench/queue: submits dry-run builds to a `kiln serve --broker` master
// (one every --interval-ms, or as fast as --concurrency connections go, --batch N builds a
// request through POST /api/v1/builds/batch), waits until none is
// queued or running, then reads every build's state events and reports
//   submit-to-claim latency: the master's claim time ("running" event, at_us) minus the time
//     the client started the submit request;
//   throughput: builds / (last "succeeded" at_us - first submit);
//   and the counts that must hold: every build succeeded, each claimed exactly once.
// Prints one JSON object.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;

namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

size_t Append(char* p, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, s * n);
  return s * n;
}

struct Client {
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  explicit Client(const std::string& token) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
  }
  ~Client() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  }
  long Do(const std::string& method, const std::string& url, const std::string& body,
          std::string& out) {
    out.clear();
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    if (curl_easy_perform(curl) != CURLE_OK) return 0;
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, token, arch = "x86_64", release = "bookworm", label = "run";
  int count = 100, concurrency = 1, batch = 1;
  double interval_ms = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--url")
      url = v;
    else if (k == "--token")
      token = v;
    else if (k == "--count")
      count = std::stoi(v);
    else if (k == "--interval-ms")
      interval_ms = std::stod(v);
    else if (k == "--concurrency")
      concurrency = std::stoi(v);
    else if (k == "--batch")
      batch = std::max(1, std::stoi(v));
    else if (k == "--arch")
      arch = v;
    else if (k == "--release")
      release = v;
    else if (k == "--label")
      label = v;
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  curl_global_init(CURL_GLOBAL_ALL);
  const std::string ks = "lang C\n%packages --excludedocs\njq\n%end\n";
  std::vector<int64_t> ids(static_cast<size_t>(count), 0), submitted(static_cast<size_t>(count), 0);
  std::atomic<int> next{0}, failed_submits{0};
  const int64_t start_us = NowUs();
  auto request = [&](int i) {
    return json{{"type", "tar"},
                {"arch", arch},
                {"release", release},
                {"name", label + "-" + std::to_string(i) + "-" + std::to_string(start_us)},
                {"kickstart", ks}};
  };
  // Builds [first, first + n): one POST /api/v1/builds each, or one batch request for all.
  auto submit = [&](Client& c, int first, int n) {
    std::string out;
    for (int i = first; i < first + n; ++i) submitted[static_cast<size_t>(i)] = NowUs();
    if (batch == 1) {
      long status = c.Do("POST", url + "/api/v1/builds?dry_run=1", request(first).dump(), out);
      if (status != 201) {
        ++failed_submits;
        return;
      }
      ids[static_cast<size_t>(first)] = json::parse(out)["id"].get<int64_t>();
      return;
    }
    json body = {{"builds", json::array()}};
    for (int i = first; i < first + n; ++i) body["builds"].push_back(request(i));
    long status = c.Do("POST", url + "/api/v1/builds/batch?dry_run=1", body.dump(), out);
    json answer = json::parse(out, nullptr, false);
    if (status != 201 || !answer.contains("builds") || answer["builds"].size() != size_t(n)) {
      failed_submits += n;
      return;
    }
    for (int i = 0; i < n; ++i) {
      ids[static_cast<size_t>(first + i)] = answer["builds"][size_t(i)]["id"].get<int64_t>();
    }
  };
  std::vector<std::thread> threads;
  if (interval_ms > 0) {
    threads.emplace_back([&] {
      Client c(token);
      for (int i = 0; i < count; ++i) {
        int64_t due = start_us + static_cast<int64_t>(i * interval_ms * 1000);
        int64_t wait = due - NowUs();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::microseconds(wait));
        submit(c, i, 1);
      }
    });
  } else {
    for (int t = 0; t < concurrency; ++t) {
      threads.emplace_back([&] {
        Client c(token);
        for (int i; (i = next.fetch_add(batch)) < count;) submit(c, i, std::min(batch, count - i));
      });
    }
  }
  for (std::thread& t : threads) t.join();
  const int64_t submitted_us = NowUs();

  // Until nothing is queued or running (an indexed list query each, cheap at any size).
  Client c(token);
  std::string out;
  for (int i = 0; i < 6000; ++i) {
    auto none = [&](const std::string& state) {
      c.Do("GET", url + "/api/v1/builds?limit=1&state=" + state, "", out);
      json j = json::parse(out, nullptr, false);
      return j.is_object() && j.contains("builds") && j["builds"].empty();
    };
    if (none("queued") && none("running")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  std::vector<double> latency_ms;
  int succeeded = 0, claimed_twice = 0, never_claimed = 0;
  int64_t last_done_us = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == 0) continue;
    c.Do("GET", url + "/api/v1/builds/" + std::to_string(ids[i]) + "/events", "", out);
    std::istringstream lines(out);
    std::string line, event;
    int runs = 0;
    int64_t claimed = 0, done = 0;
    bool ok = false;
    while (std::getline(lines, line)) {
      if (line.rfind("event: ", 0) == 0) event = line.substr(7);
      if (line.rfind("data: ", 0) != 0 || event != "state") continue;
      json d = json::parse(line.substr(6), nullptr, false);
      if (!d.is_object()) continue;
      std::string state = d.value("state", "");
      if (state == "running") {
        if (++runs == 1) claimed = d.value("at_us", int64_t{0});
      } else if (state == "succeeded") {
        ok = true;
        done = d.value("at_us", int64_t{0});
      }
    }
    if (runs > 1) ++claimed_twice;
    if (runs == 0) ++never_claimed;
    if (ok) ++succeeded;
    if (claimed > 0) latency_ms.push_back(static_cast<double>(claimed - submitted[i]) / 1000.0);
    last_done_us = std::max(last_done_us, done);
  }
  double seconds = static_cast<double>(last_done_us - start_us) / 1e6;
  json result = {{"label", label},
                 {"count", count},
                 {"failed_submits", failed_submits.load()},
                 {"succeeded", succeeded},
                 {"claimed_twice", claimed_twice},
                 {"never_claimed", never_claimed},
                 {"latency_ms_p50", Percentile(latency_ms, 0.50)},
                 {"latency_ms_p99", Percentile(latency_ms, 0.99)},
                 {"latency_ms_max", Percentile(latency_ms, 1.0)},
                 {"submit_seconds", static_cast<double>(submitted_us - start_us) / 1e6},
                 {"drain_seconds", seconds},
                 {"jobs_per_second", seconds > 0 ? succeeded / seconds : 0}};
  std::cout << result.dump() << std::endl;
  return succeeded == count && claimed_twice == 0 ? 0 : 1;
}
