#include "worker/remote_worker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "core/text.h"
#include "queue/amqp.h"
#include "worker/http_link.h"
#include "worker/job_runner.h"

namespace kiln::worker {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

void Log(const std::string& line) { std::cerr << "kiln worker: " << line << "\n" << std::flush; }

// Sleeps up to `d`, waking early when `stop` is set.
void Nap(milliseconds d, const std::atomic<bool>& stop) {
  for (milliseconds slept(0); slept < d && !stop; slept += milliseconds(50)) {
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// What a finished job asks of the broker connection, which only the consumer thread uses.
struct Settle {
  uint64_t tag = 0;
  uint64_t generation = 0;  // the connection the delivery came on
  bool ack = true;          // false: reject back to the queue (the master was unreachable)
};

}  // namespace

RemoteWorker::RemoteWorker(RemoteWorkerOptions options) : options_(std::move(options)) {}

int RemoteWorker::Run(const std::atomic<bool>& stop) {
  const RemoteWorkerOptions& o = options_;
  fs::path work_dir = o.data_dir / "work";
  std::error_code ec;
  fs::remove_all(work_dir, ec);  // attempts of a previous run: their builds run elsewhere now
  fs::create_directories(work_dir);
  fs::permissions(o.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  fs::path cache_dir = o.cache_dir.empty() ? o.data_dir / "cache" : o.cache_dir;
  fs::create_directories(cache_dir);
  HttpLink link(o.master_url, o.token, o.id, work_dir);

  std::string releases = Join(o.releases, ",");
  protocol::WorkerInfo me;
  me.id = o.id;
  me.arches = o.arch;
  me.releases = releases;
  me.version = KILN_VERSION;
  me.capacity = o.capacity;
  for (milliseconds backoff(250); !stop; backoff = std::min(backoff * 2, milliseconds(8000))) {
    try {
      link.Register(me);
      Log("registered with " + o.master_url + " as " + o.id + " (" + o.arch + ", " + releases +
          ", capacity " + std::to_string(o.capacity) + ")");
      break;
    } catch (const std::exception& e) {
      Log(std::string(e.what()) + "; retrying");
      Nap(backoff, stop);
    }
  }

  RunnerOptions ro;
  ro.worker_id = o.id;
  ro.kiln_binary = o.kiln_binary;
  ro.cache_dir = cache_dir;
  ro.cache_max_gib = o.cache_max_gib;
  ro.limits = o.limits;
  ro.lease = o.lease;
  ro.heartbeat = o.heartbeat;
  ro.kill_grace = o.kill_grace;
  ro.log = Log;
  protocol::WorkerCaps caps{o.id, o.arch, releases, ""};

  std::atomic<bool> hand_back{false};  // the stop grace ran out
  std::atomic<bool> done_serving{false};
  std::thread alive([&] {
    while (!done_serving) {
      Nap(milliseconds(10000), done_serving);
      if (done_serving) break;
      try {
        link.Alive(o.id);
      } catch (const std::exception&) {
        // The master is away; the builds' heartbeats say more.
      }
    }
  });

  std::mutex settle_mu;
  std::vector<Settle> settles;
  // A finished job wakes the consumer thread (waiting in poll on the broker's socket) at
  // once: with prefetch = capacity, the next message comes only after this one's ack.
  int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct CloseFd {
    int fd;
    ~CloseFd() { close(fd); }
  } close_wake{wake_fd};
  auto wake = [wake_fd] {
    uint64_t one = 1;
    ssize_t n = write(wake_fd, &one, sizeof one);
    (void)n;
  };
  // `capacity` job threads, started once: a delivery is handed to a free one (the broker
  // sends no more than `capacity` unacknowledged messages at a time).
  struct Delivery {
    int64_t build_id = 0;
    uint64_t tag = 0, generation = 0;
  };
  std::mutex jobs_mu;
  std::condition_variable jobs_cv;
  std::deque<Delivery> waiting;
  int busy = 0;  // deliveries waiting or running
  bool no_more_jobs = false;
  Heartbeats heartbeats;
  ro.heartbeats = &heartbeats;

  auto run_job = [&](const Delivery& job) {
    const int64_t build_id = job.build_id;
    std::optional<protocol::JobTicket> ticket;
    bool answered = false;
    Clock::time_point give_up = Clock::now() + 2 * o.lease;
    for (milliseconds backoff(250); !stop && Clock::now() < give_up;
         backoff = std::min(backoff * 2, milliseconds(4000))) {
      try {
        ticket = link.ClaimBuild(build_id, caps, o.lease.count());
        answered = true;
        break;
      } catch (const std::exception& e) {
        Log("build " + std::to_string(build_id) + ": claiming: " + e.what());
        Nap(backoff, stop);
      }
    }
    if (ticket) {
      std::string name = "build " + std::to_string(build_id) + " attempt " +
                         std::to_string(ticket->attempt) + (ticket->dry_run ? " (dry run)" : "");
      if (!ticket->dry_run) Log(name + ": started");  // a plan takes milliseconds: one line
      AttemptEnd end = RunAttempt(link, ro, *ticket, hand_back);
      Log(name + (end == AttemptEnd::kRecorded ? ": result recorded"
                  : end == AttemptEnd::kHandedBack
                      ? ": handed back"
                      : ": lost (the master gave it to another worker)"));
    } else if (answered) {
      Log("build " + std::to_string(build_id) +
          ": not queued any more (running elsewhere, finished or canceled); message dropped");
    }
    {
      std::lock_guard<std::mutex> lock(settle_mu);
      // The master knows where the build is whenever it answered: the message is done.
      settles.push_back({job.tag, job.generation, answered});
    }
    wake();
  };
  std::vector<std::thread> job_threads;
  for (int i = 0; i < std::max(1, o.capacity); ++i) {
    job_threads.emplace_back([&] {
      std::unique_lock<std::mutex> lock(jobs_mu);
      while (true) {
        jobs_cv.wait(lock, [&] { return !waiting.empty() || no_more_jobs; });
        if (waiting.empty()) return;
        Delivery job = waiting.front();
        waiting.pop_front();
        lock.unlock();
        run_job(job);
        lock.lock();
        --busy;
      }
    });
  }
  auto start_job = [&](int64_t build_id, uint64_t tag, uint64_t generation) {
    {
      std::lock_guard<std::mutex> lock(jobs_mu);
      waiting.push_back({build_id, tag, generation});
      ++busy;
    }
    jobs_cv.notify_one();
  };
  auto jobs_busy = [&] {
    std::lock_guard<std::mutex> lock(jobs_mu);
    return busy;
  };

  std::unique_ptr<queue::AmqpConnection> conn;
  uint64_t generation = 0;
  milliseconds backoff(250);
  Clock::time_point next_connect{};
  Clock::time_point stop_deadline{};
  bool stopping = false;
  std::string last_error;
  while (true) {
    if (stop && !stopping) {
      stopping = true;
      stop_deadline = Clock::now() + o.stop_grace;
      Log("stopping: no new builds; " + std::to_string(jobs_busy()) + " running may finish");
    }
    if (stopping && !hand_back && Clock::now() >= stop_deadline) {
      Log("stop grace over: handing back " + std::to_string(jobs_busy()) + " build(s)");
      hand_back = true;
    }
    if (stopping && jobs_busy() == 0) {
      std::lock_guard<std::mutex> lock(settle_mu);
      if (settles.empty() || !conn || !conn->healthy()) break;
    }

    if (!conn || !conn->healthy()) {
      if (conn) {
        Log("broker connection lost; unacknowledged messages go back to the queue");
        conn.reset();
      }
      if (Clock::now() < next_connect) {
        std::this_thread::sleep_for(milliseconds(50));
        continue;
      }
      std::string error;
      conn = queue::AmqpConnection::Open(o.broker_url, milliseconds(3000), 30, error);
      bool ok = conn != nullptr && conn->Qos(o.capacity, error);
      for (const std::string& release : o.releases) {
        std::string q = queue::BuildQueueName(o.arch, release);
        ok = ok && conn->DeclareBuildQueue(q, error) && conn->Consume(q, error);
      }
      if (!ok) {
        conn.reset();
        if (error != last_error) Log("broker " + queue::RedactUrl(o.broker_url) + ": " + error);
        last_error = error;
        next_connect = Clock::now() + backoff;
        backoff = std::min(backoff * 2, milliseconds(8000));
        continue;
      }
      ++generation;
      backoff = milliseconds(250);
      last_error.clear();
      Log("consuming from " + queue::RedactUrl(o.broker_url) + " (" + releases + ")");
    }

    {
      std::lock_guard<std::mutex> lock(settle_mu);
      for (const Settle& s : settles) {
        // A delivery of an older connection was requeued by the broker when it broke.
        if (s.generation != generation) continue;
        if (s.ack) {
          conn->Ack(s.tag);
        } else {
          conn->Reject(s.tag, /*requeue=*/true);
        }
      }
      settles.clear();
    }

    if (!conn->HasBuffered()) {
      pollfd fds[2] = {{conn->fd(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
      poll(fds, 2, 100);  // the timeout also paces heartbeats and the stop check
      if (fds[1].revents & POLLIN) {
        uint64_t n = 0;
        ssize_t r = read(wake_fd, &n, sizeof n);
        (void)r;
      }
    }
    // Always through NextDelivery, never a bare frame read: a delivery that arrived after
    // poll() returned for the eventfd would otherwise be read and dropped, leaving the
    // message unacknowledged on this channel for good — holding a prefetch slot (with
    // capacity 1, the worker's only one) while its build waits for the master's republish.
    // NextDelivery also sends and checks heartbeats.
    queue::Delivery d;
    std::string error;
    queue::AmqpConnection::Wait w = conn->NextDelivery(milliseconds(0), d, error);
    if (w != queue::AmqpConnection::Wait::kDelivery) continue;
    if (stopping) {
      conn->Reject(d.tag, /*requeue=*/true);  // for another worker
      continue;
    }
    std::optional<queue::BuildMessage> m = queue::DecodeBuildMessage(d.body);
    bool mine = m && m->arch == o.arch &&
                std::find(o.releases.begin(), o.releases.end(), m->release) != o.releases.end();
    if (!mine) {
      // Not a build message, or not for this worker's queues: it can never run here.
      Log("message on " + d.routing_key + " rejected to the dead-letter queue: " +
          (m ? "it is for " + m->arch + " " + m->release : "not a build message"));
      conn->Reject(d.tag, /*requeue=*/false);
      continue;
    }
    start_job(m->build_id, d.tag, generation);
  }
  {
    std::lock_guard<std::mutex> lock(jobs_mu);
    no_more_jobs = true;
  }
  jobs_cv.notify_all();
  for (std::thread& t : job_threads) t.join();
  done_serving = true;
  alive.join();
  Log("stopped");
  return 0;
}

}  // namespace kiln::worker
