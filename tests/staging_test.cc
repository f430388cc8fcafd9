// Staging in process: a build made through the coordinator (a file as its artifact, then
// SHA256SUMS), its staging targets queued by the store's trigger when it succeeds, and the
// delivery service's pass copying them — to a directory under the server's file_roots, to a
// real FTP server (pyftpdlib on a free loopback port: anonymous, or only the config's user) and
// to a real SFTP server (an sshd of the test's own, the config's key, its host key checked). A
// pass again sends nothing twice; a target that is down is tried again and delivered once it is
// back; what the server would not reach is refused before anything is sent.
#include "delivery/staging.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "core/sha256.h"
#include "delivery_servers.h"
#include "server/delivery_service.h"
#include "testing/fake_clock.h"

namespace kiln::server {
namespace {
namespace fs = std::filesystem;

class StagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-staging-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "roots" / "images");
    fs::create_directories(dir_ / "ftp");
    store_ = store::Store::Open(dir_ / "kiln.db", clock_);
    co_ = std::make_unique<Coordinator>(*store_, dir_ / "data", clock_);
    owner_ = store_->AddUser("alice", Role::kUser, "");
    options_.staging.file_roots = {dir_ / "roots"};
    options_.first_retry_ms = 1000;
  }
  void TearDown() override {
    ftp_.reset();
    co_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  bool StartFtp(int port) {
    ftp_ = std::make_unique<::kiln::testing::FtpServer>(dir_ / "ftp", port);
    return ftp_->Start();
  }
  // A build that succeeds with `content` as its image and SHA256SUMS beside it, staged to
  // `targets`.
  int64_t Build(const std::vector<std::string>& targets, const std::string& content) {
    std::string staging = "[";
    for (const std::string& t : targets) staging += (staging.size() > 1 ? ",\"" : "\"") + t + "\"";
    store::NewBuild b;
    b.owner_id = owner_;
    b.spec_json = "{}";
    b.targets_json = "{\"staging\":" + staging + "]}";
    b.spec_hash = Sha256Hex(b.targets_json + content);
    b.type = "tar";
    b.arch = "x86_64";
    b.release = "bookworm";
    b.name = "n";
    int64_t id = co_->Submit(b).id;
    JobTicket t = *co_->ClaimNext({"w", "", "", ""}, 30'000);
    fs::path out = co_->AttemptDir(id, t.attempt);
    fs::create_directories(out);
    std::ofstream(out / "image.tar") << content;
    std::ofstream(out / "SHA256SUMS") << Sha256Hex(content) << "  image.tar\n";
    EXPECT_TRUE(co_->AddArtifact(id, t.attempt, out / "image.tar").ok());
    EXPECT_TRUE(co_->AddArtifact(id, t.attempt, out / "SHA256SUMS").ok());
    JobResult ok;
    ok.state = BuildState::kSucceeded;
    EXPECT_TRUE(co_->Finish(id, t.attempt, "w", ok));
    return id;
  }

  ::kiln::testing::FakeClock clock_;
  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Coordinator> co_;
  int64_t owner_ = 0;
  DeliveryOptions options_;
  std::unique_ptr<::kiln::testing::FtpServer> ftp_;
};

TEST_F(StagingTest, ToADirectoryUnderTheRootsAndToAnFtpServer) {
  int port = ::kiln::testing::FreePort();
  ASSERT_TRUE(StartFtp(port));
  DeliveryService service(*co_, options_);
  store_->EnableDeliveries(false, true);
  std::string image(300000, 'k');
  int64_t id = Build({"file://" + (dir_ / "roots" / "images").string(),
                      "ftp://127.0.0.1:" + std::to_string(port) + "/pub/"},
                     image);
  EXPECT_EQ(service.RunDue(), 2);
  for (const fs::path& staged : {dir_ / "roots" / "images" / ("kiln-build-" + std::to_string(id)),
                                 dir_ / "ftp" / "pub" / ("kiln-build-" + std::to_string(id))}) {
    EXPECT_EQ(::kiln::testing::ReadWhole(staged / "image.tar"), image) << staged;
    EXPECT_EQ(::kiln::testing::ReadWhole(staged / "SHA256SUMS"),
              Sha256Hex(image) + "  image.tar\n");
    EXPECT_FALSE(fs::exists(staged / "image.tar.part")) << "renamed into place";
  }
  for (const store::Delivery& d : store_->DeliveriesOf(id)) {
    EXPECT_EQ(d.state, "delivered") << d.target << ": " << d.last_error;
  }

  // Again (POST /deliver): the files there whole are not copied twice.
  fs::path copy = dir_ / "roots" / "images" / ("kiln-build-" + std::to_string(id)) / "image.tar";
  auto before = fs::last_write_time(copy);
  EXPECT_EQ(store_->RedoDeliveries(id, clock_.NowMs()), 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(service.RunDue(), 2);
  EXPECT_EQ(fs::last_write_time(copy), before);
}

TEST_F(StagingTest, AServerDownIsTriedAgainAndDeliveredOnceBack) {
  int port = ::kiln::testing::FreePort();
  DeliveryService service(*co_, options_);
  store_->EnableDeliveries(false, true);
  int64_t id = Build({"ftp://127.0.0.1:" + std::to_string(port) + "/pub/"}, "image bytes");
  EXPECT_EQ(service.RunDue(), 1);
  std::vector<store::Delivery> d = store_->DeliveriesOf(id);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "pending");
  EXPECT_EQ(d[0].attempts, 1);
  EXPECT_FALSE(d[0].last_error.empty());
  EXPECT_EQ(d[0].next_ms, clock_.NowMs() + 1000) << "the first retry, as configured";
  EXPECT_EQ(service.RunDue(), 0) << "not due yet";
  ASSERT_TRUE(StartFtp(port));
  clock_.Advance(std::chrono::milliseconds(1000));
  EXPECT_EQ(service.RunDue(), 1);
  EXPECT_EQ(store_->DeliveriesOf(id)[0].state, "delivered");
  EXPECT_EQ(::kiln::testing::ReadWhole(dir_ / "ftp" / "pub" / ("kiln-build-" + std::to_string(id)) /
                                       "image.tar"),
            "image bytes");
}

// Under the server's address policy (as the master runs it), an FTP server on its loopback is
// not reached — not even connected to — until the admin opens the range.
TEST_F(StagingTest, ALoopbackServerIsReachedOnlyWhereTheAdminOpenedIt) {
  int port = ::kiln::testing::FreePort();
  ASSERT_TRUE(StartFtp(port));
  spec::AddressPolicy public_only;
  options_.address_policy = &public_only;
  store_->EnableDeliveries(false, true);
  DeliveryService service(*co_, options_);
  int64_t id = Build({"ftp://127.0.0.1:" + std::to_string(port) + "/pub/"}, "kept home");
  EXPECT_EQ(service.RunDue(), 1);
  std::vector<store::Delivery> d = store_->DeliveriesOf(id);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "pending");
  EXPECT_NE(d[0].last_error.find("address policy (loopback"), std::string::npos) << d[0].last_error;
  EXPECT_FALSE(fs::exists(dir_ / "ftp" / "pub"));

  spec::AddressPolicy opened(*spec::ParseIpRanges("127.0.0.1/32"));
  options_.address_policy = &opened;
  DeliveryService allowed(*co_, options_);
  clock_.Advance(std::chrono::milliseconds(1000));
  EXPECT_EQ(allowed.RunDue(), 1);
  EXPECT_EQ(store_->DeliveriesOf(id)[0].state, "delivered")
      << store_->DeliveriesOf(id)[0].last_error;
}

// An FTP server that takes only its user: the config's credentials (never the request's)
// get the files there; without them nothing is sent.
TEST_F(StagingTest, ToAnFtpServerAsTheConfigsUser) {
  int port = ::kiln::testing::FreePort();
  ftp_ = std::make_unique<::kiln::testing::FtpServer>(dir_ / "ftp", port, "stager", "s3cret");
  ASSERT_TRUE(ftp_->Start());
  store_->EnableDeliveries(false, true);
  std::string url = "ftp://127.0.0.1:" + std::to_string(port) + "/pub/";
  DeliveryService anonymous(*co_, options_);
  int64_t refused = Build({url}, "anonymous bytes");
  EXPECT_EQ(anonymous.RunDue(), 1);
  std::vector<store::Delivery> d = store_->DeliveriesOf(refused);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].state, "pending") << "no anonymous login here";
  EXPECT_FALSE(fs::exists(dir_ / "ftp" / "pub" / ("kiln-build-" + std::to_string(refused))));

  options_.staging.ftp_user = "stager";
  options_.staging.ftp_password = "s3cret";
  DeliveryService as_user(*co_, options_);
  int64_t id = Build({url}, "the user's bytes");
  clock_.Advance(std::chrono::milliseconds(1000));
  EXPECT_EQ(as_user.RunDue(), 2) << "this one, and the first again";
  for (int64_t build : {refused, id}) {
    EXPECT_EQ(store_->DeliveriesOf(build)[0].state, "delivered")
        << store_->DeliveriesOf(build)[0].last_error;
  }
  EXPECT_EQ(::kiln::testing::ReadWhole(dir_ / "ftp" / "pub" / ("kiln-build-" + std::to_string(id)) /
                                       "image.tar"),
            "the user's bytes");
}

// An sshd of the test's own on a free loopback port (its host key, root's key in an
// authorized_keys of its own, internal-sftp), and the config's key and known_hosts.
TEST_F(StagingTest, ToAnSftpServerWithTheConfigsKeyAndItsHostKeyChecked) {
  if (!::kiln::testing::SftpServer::Available()) {
    GTEST_SKIP() << "needs openssh-server (scripts/install-deps.sh test) and root";
  }
  int port = ::kiln::testing::FreePort();
  std::string d = dir_.string();
  ::kiln::testing::SftpServer sshd(dir_ / "sshd", port);
  ASSERT_TRUE(sshd.Prepare());
  ASSERT_TRUE(sshd.Start());
  fs::create_directories(dir_ / "sftp-root");
  options_.staging.sftp_user = "root";
  options_.staging.sftp_key = sshd.client_key();
  options_.staging.sftp_known_hosts = sshd.known_hosts();
  DeliveryService service(*co_, options_);
  store_->EnableDeliveries(false, true);
  std::string url = "sftp://127.0.0.1:" + std::to_string(port) + d + "/sftp-root/images/";
  int64_t id = Build({url}, "sftp image bytes");
  EXPECT_EQ(service.RunDue(), 1);
  std::vector<store::Delivery> done = store_->DeliveriesOf(id);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].state, "delivered") << done[0].last_error;
  fs::path staged = dir_ / "sftp-root" / "images" / ("kiln-build-" + std::to_string(id));
  EXPECT_EQ(::kiln::testing::ReadWhole(staged / "image.tar"), "sftp image bytes");
  EXPECT_EQ(::kiln::testing::ReadWhole(staged / "SHA256SUMS"),
            Sha256Hex("sftp image bytes") + "  image.tar\n");
  EXPECT_FALSE(fs::exists(staged / "image.tar.part"));

  // A host that is not the one in known_hosts: nothing is sent.
  std::ofstream(sshd.known_hosts()) << "[127.0.0.1]:" << port << " "
                                    << ::kiln::testing::ReadWhole(dir_ / "sshd" / "client_key.pub");
  DeliveryService strict(*co_, options_);
  int64_t other = Build({url}, "not for an unknown host");
  EXPECT_EQ(strict.RunDue(), 1);
  EXPECT_EQ(store_->DeliveriesOf(other)[0].state, "pending");
  EXPECT_FALSE(fs::exists(dir_ / "sftp-root" / "images" / ("kiln-build-" + std::to_string(other))));
}

// Retention leaves a build's files while a copy of them still waits to go, and takes them once
// it went.
TEST_F(StagingTest, RetentionWaitsForAPendingCopy) {
  int port = ::kiln::testing::FreePort();
  DeliveryService service(*co_, options_);
  store_->EnableDeliveries(false, true);
  int64_t id = Build({"ftp://127.0.0.1:" + std::to_string(port) + "/pub/"}, "kept bytes");
  EXPECT_EQ(service.RunDue(), 1);  // the server is down: pending
  EXPECT_EQ(co_->ApplyRetention(0, 1), 0) << "over the budget, but its copy waits";
  EXPECT_TRUE(fs::exists(co_->ArtifactDir(id) / "image.tar"));
  ASSERT_TRUE(StartFtp(port));
  clock_.Advance(std::chrono::milliseconds(1000));
  EXPECT_EQ(service.RunDue(), 1);
  EXPECT_EQ(store_->DeliveriesOf(id)[0].state, "delivered");
  EXPECT_EQ(co_->ApplyRetention(0, 1), 1);
  EXPECT_FALSE(fs::exists(co_->ArtifactDir(id) / "image.tar"));
}

TEST(StagingRefusalTest, OnlyWhatTheServerReaches) {
  delivery::StagingConfig config;
  EXPECT_NE(delivery::StagingRefusal(config, "file:///srv/images"), "") << "no roots: none";
  config.file_roots = {"/srv/stage"};
  EXPECT_EQ(delivery::StagingRefusal(config, "file:///srv/stage/team-a"), "");
  EXPECT_EQ(delivery::StagingRefusal(config, "file:///srv/stage"), "");
  EXPECT_NE(delivery::StagingRefusal(config, "file:///srv/stage2"), "");
  EXPECT_NE(delivery::StagingRefusal(config, "file:///srv/stage/../../etc"), "");
  EXPECT_NE(delivery::StagingRefusal(config, "file:///etc"), "");
  EXPECT_EQ(delivery::StagingRefusal(config, "ftp://ftp.example.org/pub/"), "");
  EXPECT_NE(delivery::StagingRefusal(config, "sftp://host/x"), "") << "no key configured";
  config.sftp_key = "/etc/kiln/id_ed25519";
  EXPECT_EQ(delivery::StagingRefusal(config, "sftp://host/x"), "");
  EXPECT_NE(delivery::StagingRefusal(config, "http://host/x"), "");
}

}  // namespace
}  // namespace kiln::server
