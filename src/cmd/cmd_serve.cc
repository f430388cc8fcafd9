// kiln serve — the master: HTTP API, embedded store and queue, and N local workers.
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "auth/credentials.h"
#include "client/client_config.h"
#include "cmd/limit_flags.h"
#include "cmd/service_signals.h"
#include "cmd/subcommands.h"
#include "cmd/without_root.h"
#include "queue/amqp.h"
#include "server/api.h"
#include "server/coordinator.h"
#include "server/coordinator_link.h"
#include "server/delivery_service.h"
#include "server/http_server.h"
#include "server/queue_publisher.h"
#include "spec/imagebuild_conf.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "sys/files.h"
#include "worker/local_worker.h"

namespace kiln::cmd {
namespace fs = std::filesystem;
namespace {

struct ServeOptions {
  std::string config;
  // Loopback unless told otherwise: a public service sits behind a TLS proxy (docs/tls.md) or
  // is opened on purpose (--listen 0.0.0.0:5000).
  std::string listen = "127.0.0.1:5000";
  std::string data_dir = "/var/lib/kiln";
  std::string cache_dir = "/var/cache/kiln";
  std::string run_as;  // as root: the user to become ("" = kiln if it exists)
  int workers = 0;
  int threads = 2;
  double body_limit_mib = 64;
  double cache_max_gib = 20;
  double request_timeout_s = 15;          // a client must send a whole request within this
  double retention_days = 0;              // 0 = keep artifacts whatever their age
  double retention_max_gib = 0;           // 0 = no disk budget for artifacts
  std::vector<std::string> brokers;       // --broker URL | ARCH=URL
  server::BrokerRoutes routes;            // from --broker, else the config's [broker]
  int max_attempts = 3;                   // a build that loses its worker this often fails
  std::string fetch_allow;                // address ranges the server may fetch users' URLs from
  double fetch_timeout_s = 20;            // all of one request's fetches
  double max_kickstart_kib = 1024;        // each kickstart file of a request
  int max_connections_per_address = 256;  // 0 = no limit (127.0.0.1, a local proxy: none)
  int max_requests_per_address = 100;     // a second, per client address; 0 = no limit
  double upload_quota_mib = 2048;         // new .deb uploads per user in 24 hours; 0 = none
  stages::BuildLimits limits = stages::ServiceLimits();  // of the local workers' builds
  std::optional<delivery::SmtpConfig> smtp;              // the config's [smtp] (the seed's [SMTP])
  delivery::StagingConfig staging;                       // the config's [staging]
  std::string public_url;  // how users reach the master, for e-mails' links
};

std::string HostName() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// A section's keys read by `parse` into `out`; false (after saying why, at the section's
// line) if it refuses them. A missing section leaves `out` as it is.
template <typename Config, typename Parse>
bool ReadSection(const spec::IniFile& ini, const std::string& file,
                 std::initializer_list<const char*> names, Parse parse, Config& out) {
  const spec::IniSection* section = nullptr;
  for (const char* name : names) {
    if (section == nullptr) section = ini.Find(name);
  }
  if (section == nullptr) return true;
  std::map<std::string, std::string> keys;
  for (const auto& [key, v] : section->values) keys[key] = v.value;
  auto parsed = parse(keys);
  if (!parsed.ok()) {
    std::cerr << file << ":" << section->line << ": " << parsed.message() << "\n";
    return false;
  }
  out = std::move(*parsed);
  return true;
}

// [server] keys of --config override the defaults; flags given on the command line win.
bool ReadServerConfig(ServeOptions& o, CLI::App* app) {
  std::string text;
  try {
    text = sys::ReadFileText(o.config);
  } catch (const std::exception& e) {
    std::cerr << "kiln serve: cannot read " << o.config << ": " << e.what() << "\n";
    return false;
  }
  spec::IniFile ini;
  Diagnostics diags;
  bool ok = spec::ParseIni(text, o.config, ini, diags);
  for (const Diagnostic& d : diags.items()) std::cerr << FormatDiagnostic(d) << "\n";
  if (!ok) return false;
  // The seed's [broker] section: one AMQP URL per arch (both may name the same broker).
  if (const spec::IniSection* b = ini.Find("broker"); b != nullptr && app->count("--broker") == 0) {
    for (const auto& [arch, v] : b->values) {
      if (Status added = o.routes.Add(arch + "=" + v.value); !added.ok()) {
        std::cerr << o.config << ":" << v.line << ": [broker] " << added.message() << "\n";
        return false;
      }
    }
  }
  // [fetch]: where the server may fetch users' URLs from, beyond the public internet.
  if (const spec::IniSection* f = ini.Find("fetch"); f != nullptr) {
    for (const auto& [key, v] : f->values) {
      if (key == "allow") {
        if (app->count("--fetch-allow") == 0) o.fetch_allow = v.value;
      } else if (key == "timeout") {
        try {
          if (app->count("--fetch-timeout") == 0) o.fetch_timeout_s = std::stod(v.value);
        } catch (const std::exception&) {
          std::cerr << o.config << ":" << v.line << ": '" << v.value << "' is not a number\n";
          return false;
        }
      } else {
        std::cerr << o.config << ":" << v.line << ": unknown key '" << key
                  << "' in [fetch] (known: allow, timeout)\n";
        return false;
      }
    }
  }
  // [smtp] (or the seed's [SMTP], quotes and all): where e-mails go. [staging]: the
  // directories file:/// targets may be under, FTP and SFTP credentials.
  if (!ReadSection(ini, o.config, {"smtp", "SMTP"}, delivery::SmtpConfigFromKeys, o.smtp) ||
      !ReadSection(ini, o.config, {"staging"}, delivery::StagingConfigFromKeys, o.staging)) {
    return false;
  }
  const spec::IniSection* s = ini.Find("server");
  if (s == nullptr) return true;
  for (const auto& [key, v] : s->values) {
    auto from_flag = [&](const char* flag) { return app->count(flag) > 0; };
    try {
      if (key == "listen") {
        if (!from_flag("--listen")) o.listen = v.value;
      } else if (key == "data_dir") {
        if (!from_flag("--data-dir")) o.data_dir = v.value;
      } else if (key == "cache_dir") {
        if (!from_flag("--cache-dir")) o.cache_dir = v.value;
      } else if (key == "run_as") {
        if (!from_flag("--run-as")) o.run_as = v.value;
      } else if (key == "workers") {
        if (!from_flag("--workers")) o.workers = std::stoi(v.value);
      } else if (key == "threads") {
        if (!from_flag("--threads")) o.threads = std::stoi(v.value);
      } else if (key == "body_limit_mib") {
        o.body_limit_mib = std::stod(v.value);
      } else if (key == "cache_max_gib") {
        o.cache_max_gib = std::stod(v.value);
      } else if (key == "request_timeout") {
        if (!from_flag("--request-timeout")) o.request_timeout_s = std::stod(v.value);
      } else if (key == "retention_days") {
        if (!from_flag("--retention-days")) o.retention_days = std::stod(v.value);
      } else if (key == "retention_max_gib") {
        if (!from_flag("--retention-max-gib")) o.retention_max_gib = std::stod(v.value);
      } else if (key == "max_attempts") {
        if (!from_flag("--max-attempts")) o.max_attempts = std::stoi(v.value);
      } else if (key == "max_kickstart_kib") {
        if (!from_flag("--max-kickstart-kib")) o.max_kickstart_kib = std::stod(v.value);
      } else if (key == "public_url") {
        o.public_url = v.value;
      } else {
        std::cerr << o.config << ":" << v.line << ": unknown key '" << key
                  << "' in [server] (known: listen, data_dir, cache_dir, run_as, workers, threads, "
                     "body_limit_mib, cache_max_gib, request_timeout, retention_days, "
                     "retention_max_gib, max_attempts, max_kickstart_kib, public_url)\n";
        return false;
      }
    } catch (const std::exception&) {
      std::cerr << o.config << ":" << v.line << ": '" << v.value << "' is not a number\n";
      return false;
    }
  }
  return true;
}

// First start: an admin user and a token for it, written where the admin and the CLI find it.
void CreateFirstAdmin(store::Store& store, const fs::path& data_dir, const std::string& url) {
  if (!store.ListUsers().empty()) return;
  int64_t id = store.AddUser("admin", Role::kAdmin, "");
  std::string token = auth::NewToken();
  store.AddToken(id, "first start", auth::SecretHash(token));
  fs::path token_file = data_dir / "admin.token";
  {
    mode_t old = umask(077);
    std::ofstream out(token_file, std::ios::trunc);
    out << token << "\n";
    umask(old);
  }
  chmod(token_file.c_str(), 0600);
  fs::path config = client::ClientConfigPath();
  // An existing CLI config may name another server: it is left alone, and so is one that
  // cannot be read.
  Result<std::optional<client::ClientConfig>> existing = client::ReadClientConfig(config);
  bool absent = existing.ok() && !existing->has_value();
  Status written = absent ? client::WriteClientConfig(config, {url, token}) : existing.status();
  bool wrote = absent && written.ok();
  std::cerr << "kiln serve: created user 'admin' with an API token in " << token_file.string();
  if (wrote) std::cerr << " and " << config.string();
  std::cerr << " (mode 0600)\n";
  if (existing.ok() && existing->has_value()) {
    std::cerr << "kiln serve: kept the existing CLI config " << config.string() << " (url "
              << (*existing)->url << ")\n";
  } else if (!wrote) {
    std::cerr << "kiln serve: could not write the CLI config: " << written.message() << "\n";
  }
}

// Splits --listen into its address and port; false (after saying why) when it is not
// ADDRESS:PORT.
bool ParseListen(const std::string& listen, std::string& address, uint16_t& port_out) {
  size_t colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
    }
  }
  if (colon == std::string::npos || port < 0 || port > 65535) {
    std::cerr << "kiln serve: --listen must be ADDRESS:PORT (e.g. 0.0.0.0:5000), not '" << listen
              << "'\n";
    return false;
  }
  address = listen.substr(0, colon);
  port_out = static_cast<uint16_t>(port);
  return true;
}

// The master's webhook secret (each user's is derived from it): made at the first start,
// kept in the data directory (mode 0600). "" (after saying why) when it cannot be had.
std::string WebhookSecret(const fs::path& data_dir) {
  fs::path file = data_dir / "webhook.secret";
  std::string secret;
  if (std::ifstream in(file); in) std::getline(in, secret);
  if (secret.size() >= 32) return secret;
  secret = auth::NewSecret();
  std::ofstream out(file, std::ios::trunc);
  out << secret << "\n";
  out.close();
  if (!out) {
    std::cerr << "kiln serve: cannot write " << file.string() << ": webhooks are not signed\n";
    return "";
  }
  chmod(file.c_str(), 0600);
  return secret;
}

// Makes the data directory the service's alone, its database files included.
void PrepareDataDir(const fs::path& data_dir) {
  // The database (kickstarts with their passwords), tokens and every build's files: the
  // service's alone (a build's bootstrap sees the host's files as nobody, docs/security.md).
  umask(077);
  fs::create_directories(data_dir);
  fs::permissions(data_dir, fs::perms::owner_all, fs::perm_options::replace);
  for (const char* name : {"kiln.db", "kiln.db-wal", "kiln.db-shm"}) {
    std::error_code ec;  // from a version that made them 0644
    fs::permissions(data_dir / name, fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace, ec);
  }
}

// The service's database in `data_dir`; nullptr (after saying why) when it cannot be opened.
std::unique_ptr<store::Store> OpenStore(const fs::path& data_dir) {
  try {
    return store::Store::Open(data_dir / "kiln.db");
  } catch (const store::StoreError& e) {
    std::cerr << "kiln serve: " << e.what() << "\n";
    return nullptr;
  }
}

// Distributed mode (brokers configured): a running publisher that sends every queued build to
// its arch's broker. nullptr without brokers.
std::unique_ptr<server::QueuePublisher> StartPublisher(const ServeOptions& o,
                                                       server::Coordinator& coordinator) {
  if (o.routes.empty()) return nullptr;
  auto publisher = std::make_unique<server::QueuePublisher>(coordinator, o.routes);
  coordinator.SetQueuedListener([p = publisher.get()] { p->Wake(); });
  publisher->Start();
  return publisher;
}

// The API's options from the flags; `wake_workers` runs after each submission.
server::ApiOptions MakeApiOptions(const ServeOptions& o,
                                  const std::vector<spec::IpRange>& fetch_allow,
                                  std::function<void()> wake_workers, store::Store& store,
                                  server::Coordinator& coordinator) {
  server::ApiOptions api_options;
  api_options.body_limit = static_cast<size_t>(o.body_limit_mib * 1024 * 1024);
  api_options.on_submit = std::move(wake_workers);
  api_options.script_network = o.limits.script_network;
  api_options.fetch_allow = fetch_allow;
  api_options.fetch_timeout_s = static_cast<long>(o.fetch_timeout_s);
  api_options.kickstart_limit = static_cast<size_t>(o.max_kickstart_kib * 1024);
  api_options.upload_quota_bytes = static_cast<uint64_t>(o.upload_quota_mib * 1024 * 1024);
  if (o.smtp) api_options.email_daily_limit = o.smtp->daily_limit_per_user;
  api_options.online_workers = [&store, &coordinator] {
    std::vector<store::Worker> online;
    int64_t now = coordinator.NowMs();
    for (store::Worker& w : store.ListWorkers()) {
      if (now - w.last_seen_ms < 60'000) online.push_back(std::move(w));
    }
    return online;
  };
  return api_options;
}

// The HTTP server's options from the flags, for the address and port of --listen.
server::HttpServerOptions MakeHttpOptions(const ServeOptions& o, const std::string& address,
                                          uint16_t port, size_t body_limit) {
  server::HttpServerOptions http_options;
  http_options.address = address;
  http_options.port = port;
  http_options.threads = std::max(1, o.threads);
  http_options.body_limit = body_limit;
  http_options.request_deadline =
      std::chrono::milliseconds(static_cast<int64_t>(o.request_timeout_s * 1000));
  http_options.max_connections_per_address = o.max_connections_per_address;
  http_options.requests_per_address_per_s = o.max_requests_per_address;
  return http_options;
}

// Starts --workers local workers, named local/HOST/N, and adds them to `workers`.
void StartLocalWorkers(const ServeOptions& o, const std::string& id_prefix,
                       server::CoordinatorLink& link,
                       std::vector<std::unique_ptr<worker::LocalWorker>>& workers) {
  for (int i = 1; i <= o.workers; ++i) {
    worker::LocalWorkerOptions wo;
    wo.id = id_prefix + std::to_string(i);
    wo.kiln_binary = fs::read_symlink("/proc/self/exe");
    wo.cache_dir = fs::absolute(o.cache_dir);
    wo.cache_max_gib = o.cache_max_gib;
    wo.limits = o.limits;
    workers.push_back(std::make_unique<worker::LocalWorker>(link, wo));
    workers.back()->Start();
  }
}

// Every 5 seconds until `stopping`: requeues the builds of lost workers and applies the
// artifact retention; a failure is logged and tried again next time.
void MaintenanceLoop(const ServeOptions& o, server::Coordinator& coordinator,
                     const std::atomic<bool>& stopping) {
  while (!stopping) {
    try {
      coordinator.RequeueExpired(o.max_attempts);
      int removed = coordinator.ApplyRetention(
          static_cast<int64_t>(o.retention_days * 86400.0 * 1000.0),
          static_cast<int64_t>(o.retention_max_gib * double(1ull << 30)));
      if (removed > 0) {
        std::cerr << "kiln serve: retention removed the artifacts of " << removed << " build(s)\n";
      }
    } catch (const std::exception& e) {
      std::cerr << "kiln serve: maintenance: " << e.what() << "\n";
    }
    for (int i = 0; i < 20 && !stopping; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
}

// Logs "listening on URL (...)" as one write: the publisher thread logs at the same time, and
// pieces of two lines interleaved hide "listening on URL" from whoever waits for it.
void LogListening(const ServeOptions& o, const std::string& url, const fs::path& data_dir) {
  std::string brokers;
  for (const std::string& b : o.routes.Urls()) {
    brokers += (brokers.empty() ? "" : " ") + queue::RedactUrl(b);
  }
  std::cerr << "kiln serve: listening on " + url + " (data " + data_dir.string() + ", " +
                   std::to_string(o.workers) + " local worker" + (o.workers == 1 ? "" : "s") +
                   (brokers.empty() ? "" : ", broker " + brokers) + ")\n"
            << std::flush;
}

int Serve(const ServeOptions& o) {
  std::string address;
  uint16_t port = 0;
  if (!ParseListen(o.listen, address, port)) return 2;
  Result<std::vector<spec::IpRange>> fetch_allow = spec::ParseIpRanges(o.fetch_allow);
  if (!fetch_allow.ok()) {
    std::cerr << "kiln serve: --fetch-allow: " << fetch_allow.message() << "\n";
    return 2;
  }
  // Blocks of 128 KiB and more (request bodies, kickstarts, log pages) are mapped for
  // themselves and unmapped when freed. glibc's default raises this threshold to the largest
  // block freed so far, after which such blocks stay in the arena of the thread that freed
  // them, and the server keeps the peak of every I/O and pool thread at once.
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  fs::path data_dir = fs::absolute(o.data_dir);
  if (!DropRoot("kiln serve", o.run_as, {{data_dir}, {fs::absolute(o.cache_dir)}}, o.workers > 0)) {
    return 2;
  }
  PrepareDataDir(data_dir);
  std::unique_ptr<store::Store> store = OpenStore(data_dir);
  if (store == nullptr) return 1;
  server::Coordinator coordinator(*store, data_dir);

  // Block the stop signals in every thread; one thread waits for them.
  sigset_t stop_signals = BlockStopSignals();

  const std::string local_prefix = "local/";
  int requeued = coordinator.RequeueLocalWorkers(local_prefix);
  if (requeued > 0) {
    std::cerr << "kiln serve: " << requeued
              << " build(s) of the previous run's local workers are queued again\n";
  }

  std::unique_ptr<server::QueuePublisher> publisher = StartPublisher(o, coordinator);

  server::CoordinatorLink link(coordinator);  // outlives the workers that use it
  std::vector<std::unique_ptr<worker::LocalWorker>> workers;
  std::unique_ptr<server::DeliveryService> deliveries;  // started once the URL is known
  auto wake_workers = [&workers, &deliveries] {
    for (auto& w : workers) w->Wake();
    if (deliveries) deliveries->Wake();
  };
  std::string webhook_secret = WebhookSecret(data_dir);
  server::ApiOptions api_options =
      MakeApiOptions(o, *fetch_allow, wake_workers, *store, coordinator);
  api_options.webhook_secret = webhook_secret;
  api_options.staging = o.staging;
  server::Api api(coordinator, std::move(api_options));
  server::HttpServerOptions http_options =
      MakeHttpOptions(o, address, port, static_cast<size_t>(o.body_limit_mib * 1024 * 1024));
  server::HttpServer http(api, http_options);
  if (Status listening = http.Listen(); !listening.ok()) {
    std::cerr << "kiln serve: " << listening.message() << "\n";
    return 1;
  }
  std::string shown_host = http_options.address == "0.0.0.0" ? "127.0.0.1" : http_options.address;
  std::string url = "http://" + shown_host + ":" + std::to_string(http.port());
  CreateFirstAdmin(*store, data_dir, url);
  server::DeliveryOptions delivery_options;
  delivery_options.smtp = o.smtp;
  delivery_options.base_url = o.public_url.empty() ? url : o.public_url;
  delivery_options.webhook_secret = webhook_secret;
  delivery_options.staging = o.staging;
  delivery_options.address_policy = &api.fetch_policy();
  deliveries = std::make_unique<server::DeliveryService>(coordinator, delivery_options);
  deliveries->Start();
  StartLocalWorkers(o, local_prefix + HostName() + "/", link, workers);

  std::atomic<bool> stopping{false};
  std::thread maintenance([&] { MaintenanceLoop(o, coordinator, stopping); });
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cerr << "kiln serve: stopping (signal " << sig << ")\n";
    http.Stop();
  });
  LogListening(o, url, data_dir);
  http.Run();

  stopping = true;
  for (auto& w : workers) w->Stop();  // running builds go back to the queue
  if (publisher) publisher->Stop();   // what it did not send stays in the outbox
  deliveries->Stop();                 // what is pending stays in the store
  maintenance.join();
  // The signal thread is still in sigwait if Run() ended some other way: wake it.
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  std::cerr << "kiln serve: stopped\n";
  return 0;
}

}  // namespace

void SetupServe(CLI::App& app, Action& action) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the build service: HTTP API on port 5000, embedded queue, local workers");
  serve->add_option("--config", o->config, "server config file ([server] section)");
  serve->add_option("--listen", o->listen,
                    "ADDRESS:PORT to listen on (default 127.0.0.1:5000; 0.0.0.0:5000 opens it to "
                    "the network: put a TLS proxy in front, docs/tls.md)");
  serve->add_option("--data-dir", o->data_dir,
                    "database, logs and artifacts (default /var/lib/kiln)");
  serve->add_option("--cache-dir", o->cache_dir,
                    "stage and package cache of the local workers (default /var/cache/kiln)");
  serve->add_option("--run-as", o->run_as,
                    "started as root: the user to run as, builds in its subordinate id range "
                    "(default kiln, if that account exists; root keeps root)");
  serve->add_option("--workers", o->workers, "local workers: builds run at once on this host")
      ->check(CLI::Range(0, 64));
  serve->add_option("--threads", o->threads, "HTTP I/O threads (default 2)")
      ->check(CLI::Range(1, 64));
  serve
      ->add_option("--request-timeout", o->request_timeout_s,
                   "seconds a client has to send a whole request (default 15; slower clients "
                   "are cut off)")
      ->check(CLI::PositiveNumber);
  serve
      ->add_option("--retention-days", o->retention_days,
                   "remove artifacts of builds finished longer ago (default: keep)")
      ->check(CLI::NonNegativeNumber);
  serve
      ->add_option("--retention-max-gib", o->retention_max_gib,
                   "disk budget for artifacts; the oldest go first (default: none)")
      ->check(CLI::NonNegativeNumber);
  serve->add_option("--broker", o->brokers,
                    "RabbitMQ for remote workers: amqp://USER@HOST// for every arch, or "
                    "ARCH=amqp://... (repeatable); the config's [broker] section otherwise");
  serve
      ->add_option("--max-attempts", o->max_attempts,
                   "a build whose worker is lost this many times fails (default 3)")
      ->check(CLI::Range(1, 100));
  serve->add_option("--fetch-allow", o->fetch_allow,
                    "address ranges (comma-separated CIDR) the server may fetch users' URLs from "
                    "beyond the public internet, e.g. an internal kickstart server 10.1.2.0/24 "
                    "(default: public addresses only)");
  serve
      ->add_option("--fetch-timeout", o->fetch_timeout_s,
                   "seconds all of one request's URL fetches may take (default 20)")
      ->check(CLI::Range(1.0, 600.0));
  serve
      ->add_option("--max-kickstart-kib", o->max_kickstart_kib,
                   "the largest kickstart file a request may give or include (default 1024)")
      ->check(CLI::Range(1.0, 65536.0));
  serve
      ->add_option("--upload-quota-mib", o->upload_quota_mib,
                   "MiB of new .deb uploads one user may add in 24 hours (default 2048; 0 = no "
                   "limit)")
      ->check(CLI::NonNegativeNumber);
  serve
      ->add_option("--max-connections-per-address", o->max_connections_per_address,
                   "open connections one client address may hold (default 256; 0 = no limit; "
                   "127.0.0.1, where a TLS proxy connects from, has none)")
      ->check(CLI::NonNegativeNumber);
  serve
      ->add_option("--max-requests-per-address", o->max_requests_per_address,
                   "requests a second one client address may send, with bursts of 4 seconds' "
                   "worth (default 100; 0 = no limit)")
      ->check(CLI::NonNegativeNumber);
  AddLimitFlags(serve, o->limits);
  serve->callback([o, serve, &action] {
    action = [o, serve] {
      for (const std::string& b : o->brokers) {
        if (Status added = o->routes.Add(b); !added.ok()) {
          std::cerr << "kiln serve: " << added.message() << "\n";
          return 2;
        }
      }
      if (!o->config.empty() && !ReadServerConfig(*o, serve)) return 2;
      return Serve(*o);
    };
  });
}

}  // namespace kiln::cmd
