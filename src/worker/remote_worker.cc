#include "worker/remote_worker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <iostream>
#include <memory>
#include <thread>

#include "core/mutex.h"
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

// A delivery handed to a job thread.
struct Delivery {
  int64_t build_id = 0;
  uint64_t tag = 0, generation = 0;
};

// One `kiln worker` process at work. Threads: the consumer (Run: the broker connection is
// its alone), `capacity` job threads started once (RunJob; the broker sends no more than
// `capacity` unacknowledged messages at a time), the alive thread, and the shared heartbeat
// thread (RunAttempt). Job threads hand work back to the consumer through settles_ and an
// eventfd that wakes it from poll().
class WorkerHost {
 public:
  WorkerHost(const RemoteWorkerOptions& options, const std::atomic<bool>& stop);
  ~WorkerHost();
  int Run();

 private:
  void Register();
  void AliveLoop();
  // A job thread: runs deliveries until there are no more.
  void JobThread() KILN_EXCLUDES(jobs_mu_);
  // Claims the delivered build and runs it; then asks the consumer to settle the message.
  void RunJob(const Delivery& job);
  void StartJob(const Delivery& job) KILN_EXCLUDES(jobs_mu_);
  int JobsBusy() KILN_EXCLUDES(jobs_mu_);
  void Wake();
  // Starts stopping on `stop`; hands running builds back when the stop grace is over. True
  // when nothing is left to do.
  bool CheckStop() KILN_EXCLUDES(jobs_mu_, settle_mu_);
  // A healthy broker connection consuming this worker's queues, or false (try later).
  bool Connected();
  // Acks or rejects the messages of finished jobs (on this connection).
  void SettleFinished() KILN_EXCLUDES(settle_mu_);
  // Waits for a frame on the broker's socket or a job's wake-up (at most 100 ms).
  void WaitForWork();
  // Takes the next delivery, if any, and starts its job, or rejects it.
  void TakeDelivery();

  const RemoteWorkerOptions& o_;
  const std::atomic<bool>& stop_;
  const fs::path work_dir_;
  const std::string releases_;  // comma-separated
  HttpLink link_;
  Heartbeats heartbeats_;
  RunnerOptions runner_;
  protocol::WorkerCaps caps_;
  std::atomic<bool> hand_back_{false};  // the stop grace ran out
  std::atomic<bool> done_serving_{false};
  int wake_fd_ = -1;

  Mutex settle_mu_;
  std::vector<Settle> settles_ KILN_GUARDED_BY(settle_mu_);

  Mutex jobs_mu_;
  CondVar jobs_cv_;
  std::deque<Delivery> waiting_ KILN_GUARDED_BY(jobs_mu_);
  int busy_ KILN_GUARDED_BY(jobs_mu_) = 0;  // deliveries waiting or running
  bool no_more_jobs_ KILN_GUARDED_BY(jobs_mu_) = false;

  // The consumer thread's own.
  std::unique_ptr<queue::AmqpConnection> conn_;
  uint64_t generation_ = 0;
  milliseconds backoff_{250};
  Clock::time_point next_connect_{};
  Clock::time_point stop_deadline_{};
  bool stopping_ = false;
  std::string last_error_;
};

fs::path PreparedWorkDir(const RemoteWorkerOptions& o) {
  fs::path work_dir = o.data_dir / "work";
  std::error_code ec;
  fs::remove_all(work_dir, ec);  // attempts of a previous run: their builds run elsewhere now
  fs::create_directories(work_dir);
  fs::permissions(o.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  return work_dir;
}

WorkerHost::WorkerHost(const RemoteWorkerOptions& options, const std::atomic<bool>& stop)
    : o_(options),
      stop_(stop),
      work_dir_(PreparedWorkDir(options)),
      releases_(Join(options.releases, ",")),
      link_(options.master_url, options.token, options.id, work_dir_),
      caps_{options.id, options.arch, releases_, ""},
      // A finished job wakes the consumer thread (waiting in poll on the broker's socket) at
      // once: with prefetch = capacity, the next message comes only after this one's ack.
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  fs::path cache_dir = o_.cache_dir.empty() ? o_.data_dir / "cache" : o_.cache_dir;
  fs::create_directories(cache_dir);
  runner_.worker_id = o_.id;
  runner_.kiln_binary = o_.kiln_binary;
  runner_.cache_dir = cache_dir;
  runner_.cache_max_gib = o_.cache_max_gib;
  runner_.limits = o_.limits;
  runner_.lease = o_.lease;
  runner_.heartbeat = o_.heartbeat;
  runner_.kill_grace = o_.kill_grace;
  runner_.log = Log;
  runner_.heartbeats = &heartbeats_;
}

WorkerHost::~WorkerHost() { close(wake_fd_); }

void WorkerHost::Register() {
  protocol::WorkerInfo me;
  me.id = o_.id;
  me.arches = o_.arch;
  me.releases = releases_;
  me.version = KILN_VERSION;
  me.capacity = o_.capacity;
  for (milliseconds backoff(250); !stop_; backoff = std::min(backoff * 2, milliseconds(8000))) {
    try {
      link_.Register(me);
      Log("registered with " + o_.master_url + " as " + o_.id + " (" + o_.arch + ", " + releases_ +
          ", capacity " + std::to_string(o_.capacity) + ")");
      return;
    } catch (const std::exception& e) {
      Log(std::string(e.what()) + "; retrying");
      Nap(backoff, stop_);
    }
  }
}

void WorkerHost::AliveLoop() {
  while (!done_serving_) {
    Nap(milliseconds(10000), done_serving_);
    if (done_serving_) break;
    try {
      link_.Alive(o_.id);
    } catch (const std::exception&) {
      // The master is away; the builds' heartbeats say more.
    }
  }
}

void WorkerHost::Wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof one);
  (void)n;
}

void WorkerHost::RunJob(const Delivery& job) {
  const int64_t build_id = job.build_id;
  std::optional<protocol::JobTicket> ticket;
  bool answered = false;
  Clock::time_point give_up = Clock::now() + 2 * o_.lease;
  for (milliseconds backoff(250); !stop_ && Clock::now() < give_up;
       backoff = std::min(backoff * 2, milliseconds(4000))) {
    try {
      ticket = link_.ClaimBuild(build_id, caps_, o_.lease.count());
      answered = true;
      break;
    } catch (const std::exception& e) {
      Log("build " + std::to_string(build_id) + ": claiming: " + e.what());
      Nap(backoff, stop_);
    }
  }
  if (ticket) {
    std::string name = "build " + std::to_string(build_id) + " attempt " +
                       std::to_string(ticket->attempt) + (ticket->dry_run ? " (dry run)" : "");
    if (!ticket->dry_run) Log(name + ": started");  // a plan takes milliseconds: one line
    AttemptEnd end = RunAttempt(link_, runner_, *ticket, hand_back_);
    Log(name + (end == AttemptEnd::kRecorded ? ": result recorded"
                : end == AttemptEnd::kHandedBack
                    ? ": handed back"
                    : ": lost (the master gave it to another worker)"));
  } else if (answered) {
    Log("build " + std::to_string(build_id) +
        ": not queued any more (running elsewhere, finished or canceled); message dropped");
  }
  {
    MutexLock lock(settle_mu_);
    // The master knows where the build is whenever it answered: the message is done.
    settles_.push_back({job.tag, job.generation, answered});
  }
  Wake();
}

void WorkerHost::JobThread() {
  jobs_mu_.Lock();
  while (true) {
    jobs_cv_.Wait(jobs_mu_,
                  [this]() KILN_REQUIRES(jobs_mu_) { return !waiting_.empty() || no_more_jobs_; });
    if (waiting_.empty()) break;
    Delivery job = waiting_.front();
    waiting_.pop_front();
    jobs_mu_.Unlock();
    RunJob(job);  // without the lock: it runs a whole build
    jobs_mu_.Lock();
    --busy_;
  }
  jobs_mu_.Unlock();
}

void WorkerHost::StartJob(const Delivery& job) {
  {
    MutexLock lock(jobs_mu_);
    waiting_.push_back(job);
    ++busy_;
  }
  jobs_cv_.NotifyOne();
}

int WorkerHost::JobsBusy() {
  MutexLock lock(jobs_mu_);
  return busy_;
}

bool WorkerHost::CheckStop() {
  if (stop_ && !stopping_) {
    stopping_ = true;
    stop_deadline_ = Clock::now() + o_.stop_grace;
    Log("stopping: no new builds; " + std::to_string(JobsBusy()) + " running may finish");
  }
  if (stopping_ && !hand_back_ && Clock::now() >= stop_deadline_) {
    Log("stop grace over: handing back " + std::to_string(JobsBusy()) + " build(s)");
    hand_back_ = true;
  }
  if (stopping_ && JobsBusy() == 0) {
    MutexLock lock(settle_mu_);
    if (settles_.empty() || !conn_ || !conn_->healthy()) return true;
  }
  return false;
}

bool WorkerHost::Connected() {
  if (conn_ && conn_->healthy()) return true;
  if (conn_) {
    Log("broker connection lost; unacknowledged messages go back to the queue");
    conn_.reset();
  }
  if (Clock::now() < next_connect_) {
    std::this_thread::sleep_for(milliseconds(50));
    return false;
  }
  Result<std::unique_ptr<queue::AmqpConnection>> opened =
      queue::AmqpConnection::Open(o_.broker_url, milliseconds(3000), 30);
  Status ready = opened.status();
  if (ready.ok()) {
    conn_ = *std::move(opened);
    ready = conn_->Qos(o_.capacity);
  }
  for (const std::string& release : o_.releases) {
    std::string q = queue::BuildQueueName(o_.arch, release);
    if (ready.ok()) ready = conn_->DeclareBuildQueue(q);
    if (ready.ok()) ready = conn_->Consume(q);
  }
  if (!ready.ok()) {
    std::string error = ready.message();
    conn_.reset();
    if (error != last_error_) Log("broker " + queue::RedactUrl(o_.broker_url) + ": " + error);
    last_error_ = error;
    next_connect_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, milliseconds(8000));
    return false;
  }
  ++generation_;
  backoff_ = milliseconds(250);
  last_error_.clear();
  Log("consuming from " + queue::RedactUrl(o_.broker_url) + " (" + releases_ + ")");
  return true;
}

void WorkerHost::SettleFinished() {
  MutexLock lock(settle_mu_);
  for (const Settle& s : settles_) {
    // A delivery of an older connection was requeued by the broker when it broke.
    if (s.generation != generation_) continue;
    if (s.ack) {
      conn_->Ack(s.tag);
    } else {
      conn_->Reject(s.tag, /*requeue=*/true);
    }
  }
  settles_.clear();
}

void WorkerHost::WaitForWork() {
  if (conn_->HasBuffered()) return;
  pollfd fds[2] = {{conn_->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  poll(fds, 2, 100);  // the timeout also paces heartbeats and the stop check
  if (fds[1].revents & POLLIN) {
    uint64_t n = 0;
    ssize_t r = read(wake_fd_, &n, sizeof n);
    (void)r;
  }
}

void WorkerHost::TakeDelivery() {
  // Always through NextDelivery, never a bare frame read: a delivery that arrived after
  // poll() returned for the eventfd would otherwise be read and dropped, leaving the
  // message unacknowledged on this channel for good — holding a prefetch slot (with
  // capacity 1, the worker's only one) while its build waits for the master's republish.
  // NextDelivery also sends and checks heartbeats.
  queue::Delivery d;
  std::string error;
  queue::AmqpConnection::Wait w = conn_->NextDelivery(milliseconds(0), d, error);
  if (w != queue::AmqpConnection::Wait::kDelivery) return;
  if (stopping_) {
    conn_->Reject(d.tag, /*requeue=*/true);  // for another worker
    return;
  }
  std::optional<queue::BuildMessage> m = queue::DecodeBuildMessage(d.body);
  bool mine = m && m->arch == o_.arch &&
              std::find(o_.releases.begin(), o_.releases.end(), m->release) != o_.releases.end();
  if (!mine) {
    // Not a build message, or not for this worker's queues: it can never run here.
    Log("message on " + d.routing_key + " rejected to the dead-letter queue: " +
        (m ? "it is for " + m->arch + " " + m->release : "not a build message"));
    conn_->Reject(d.tag, /*requeue=*/false);
    return;
  }
  StartJob({m->build_id, d.tag, generation_});
}

int WorkerHost::Run() {
  Register();
  std::thread alive([this] { AliveLoop(); });
  std::vector<std::thread> job_threads;
  for (int i = 0; i < std::max(1, o_.capacity); ++i) {
    job_threads.emplace_back([this] { JobThread(); });
  }
  while (!CheckStop()) {
    if (!Connected()) continue;
    SettleFinished();
    WaitForWork();
    TakeDelivery();
  }
  {
    MutexLock lock(jobs_mu_);
    no_more_jobs_ = true;
  }
  jobs_cv_.NotifyAll();
  for (std::thread& t : job_threads) t.join();
  done_serving_ = true;
  alive.join();
  Log("stopped");
  return 0;
}

}  // namespace

RemoteWorker::RemoteWorker(RemoteWorkerOptions options) : options_(std::move(options)) {}

int RemoteWorker::Run(const std::atomic<bool>& stop) {
  WorkerHost host(options_, stop);
  return host.Run();
}

}  // namespace kiln::worker
