// The stage cache: keys, hits, explanations of misses, atomic commits and LRU eviction.
#include "engine/stage_cache.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

namespace kiln::engine {
namespace {

namespace fs = std::filesystem;

class StageCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-cache-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Builds a stage "output" of `bytes` bytes and commits it.
  fs::path Build(StageCache& cache, const StageInputs& in, size_t bytes = 10) {
    fs::path out = cache.Prepare(in);
    std::ofstream(out / "data") << std::string(bytes, 'x');
    return cache.Commit(in);
  }

  fs::path dir_;
};

StageInputs Bootstrap(const std::string& packages) {
  return {"bootstrap", 1, "", {{"packages", packages}, {"mirror InRelease", "abc"}}};
}

TEST(StageInputsTest, KeyCoversEveryInput) {
  StageInputs a = Bootstrap("vim");
  EXPECT_EQ(a.Key().size(), 64u);
  EXPECT_EQ(a.Key(), Bootstrap("vim").Key());
  EXPECT_NE(a.Key(), Bootstrap("emacs").Key());
  StageInputs v2 = a;
  v2.version = 2;
  EXPECT_NE(a.Key(), v2.Key());
  StageInputs child = {"configure", 1, a.Key(), {{"hostname", "x"}}};
  StageInputs other_parent = {"configure", 1, Bootstrap("emacs").Key(), {{"hostname", "x"}}};
  EXPECT_NE(child.Key(), other_parent.Key());
}

TEST_F(StageCacheTest, MissThenHit) {
  StageCache cache(dir_, 0);
  StageInputs in = Bootstrap("vim");
  EXPECT_FALSE(cache.Lookup(in));
  EXPECT_EQ(cache.ExplainMiss(in), "first build of this stage");
  fs::path out = Build(cache, in);
  std::optional<fs::path> hit = cache.Lookup(in);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit, out);
  EXPECT_TRUE(fs::exists(*hit / "data"));
  // A second cache object over the same directory sees it too (it lives on disk).
  StageCache again(dir_, 0);
  EXPECT_TRUE(again.Lookup(in));
}

TEST_F(StageCacheTest, ExplainsWhichInputChanged) {
  StageCache cache(dir_, 0);
  Build(cache, Bootstrap("vim"));
  EXPECT_EQ(cache.ExplainMiss(Bootstrap("emacs")), "packages changed");
  StageInputs both = Bootstrap("emacs");
  both.values["mirror InRelease"] = "def";
  EXPECT_EQ(cache.ExplainMiss(both), "mirror InRelease and packages changed");
  StageInputs scripts = {"scripts", 1, "p1", {{"%post scripts", "echo a"}}};
  Build(cache, scripts);
  StageInputs new_parent = scripts;
  new_parent.parent_key = "p2";
  EXPECT_EQ(cache.ExplainMiss(new_parent), "the stage before it changed");
}

TEST_F(StageCacheTest, AbandonLeavesNothing) {
  StageCache cache(dir_, 0);
  StageInputs in = Bootstrap("vim");
  fs::path out = cache.Prepare(in);
  std::ofstream(out / "partial") << "half";
  cache.Abandon(in);
  EXPECT_FALSE(cache.Lookup(in));
  EXPECT_TRUE(fs::is_empty(dir_ / "work"));
}

TEST_F(StageCacheTest, EvictsLeastRecentlyUsedFirst) {
  // Entries are measured by the disk space they take: 4 KiB blocks here.
  StageCache cache(dir_, 10240);
  StageInputs a = Bootstrap("a"), b = Bootstrap("b"), c = Bootstrap("c");
  Build(cache, a, 4096);
  Build(cache, b, 4096);
  ASSERT_TRUE(cache.Lookup(a));  // a is now more recent than b
  Build(cache, c, 4096);
  std::vector<CacheEntryInfo> removed = cache.Evict({c.Key()});
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].key, b.Key());
  EXPECT_TRUE(cache.Lookup(a));
  EXPECT_FALSE(cache.Lookup(b));
  EXPECT_TRUE(cache.Lookup(c));
  EXPECT_EQ(cache.ExplainMiss(b), "packages changed") << "b's last build was replaced by c's";
}

TEST_F(StageCacheTest, SparseImagesCountTheSpaceTheyTake) {
  StageCache cache(dir_, 0);
  StageInputs a = Bootstrap("a");
  fs::path out = cache.Prepare(a);
  std::ofstream(out / "disk.raw") << std::string(4096, 'x');
  fs::resize_file(out / "disk.raw", 1ull << 30);  // a 1 GiB disk holding 4 KiB
  cache.Commit(a);
  std::vector<CacheEntryInfo> entries = cache.Entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_GE(entries[0].bytes, 4096u);
  EXPECT_LT(entries[0].bytes, 1u << 20);
}

TEST_F(StageCacheTest, KeptEntriesSurviveEviction) {
  StageCache cache(dir_, 100);
  StageInputs a = Bootstrap("a");
  Build(cache, a, 1000);
  EXPECT_TRUE(cache.Evict({a.Key()}).empty());
  EXPECT_TRUE(cache.Lookup(a));
  EXPECT_EQ(cache.Evict().size(), 1u);
  EXPECT_FALSE(cache.Lookup(a));
}

}  // namespace
}  // namespace kiln::engine

namespace kiln::engine {
namespace {

TEST_F(StageCacheTest, WorkLeftByADeadBuildIsRemovedOnOpen) {
  // A pid that surely belongs to no process: a child that has exited and been reaped.
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  { StageCache create(dir_, 0); }
  fs::path orphan = dir_ / "work" / ("abc." + std::to_string(dead));
  fs::path evicted = dir_ / "work" / ("def.evicted." + std::to_string(dead));
  fs::path ours = dir_ / "work" / ("ghi." + std::to_string(getpid()));
  fs::path alive = dir_ / "work" / "jkl.1";  // pid 1 lives as long as the machine
  for (const fs::path& p : {orphan, evicted, ours, alive}) {
    fs::create_directories(p / "out" / "root");
    std::ofstream(p / "out" / "root" / "file") << "x";
  }
  StageCache cache(dir_, 0);
  EXPECT_FALSE(fs::exists(orphan)) << "its build was killed: nobody else cleans it";
  EXPECT_FALSE(fs::exists(evicted));
  EXPECT_TRUE(fs::exists(ours)) << "this process's own work stays";
  EXPECT_TRUE(fs::exists(alive)) << "a live build's work stays";
}

}  // namespace
}  // namespace kiln::engine
