// The real Fedora kickstarts of ../shared/kickstarts, read the way pykickstart reads them.
//
// Three independent checks per top-level file:
//  1. Diagnostics: exactly those of tests/corpus/expected_diagnostics.txt, which was written
//     from pykickstart's rules (see its header), not from kiln's output.
//  2. Content: a deliberately naive reader in this file (no shlex, no command table) follows
//     the %include chain and applies pykickstart's %packages set rules and script rules; kiln
//     must find the same scripts (kind and body, in order), packages, exclusions and the same
//     command words.
//  3. Flattening: the output has no %include, parses without errors, and flattens to itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/text.h"
#include "spec/kickstart_parser.h"
#include "spec/kickstart_writer.h"
#include "spec/typed_commands.h"

namespace kiln::spec {
namespace {

namespace fs = std::filesystem;

const fs::path kCorpus = fs::path(KILN_SHARED_DIR) / "kickstarts";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Expected {
  std::string severity, where, text;
};

std::vector<Expected> LoadExpected() {
  std::vector<Expected> out;
  std::istringstream in(
      ReadFile(fs::path(KILN_SOURCE_DIR) / "tests/corpus/expected_diagnostics.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Expected e;
    ls >> e.severity >> e.where;
    std::getline(ls, e.text);
    e.text = std::string(Trim(e.text));
    out.push_back(e);
  }
  return out;
}

std::vector<fs::path> TopLevelFiles() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kCorpus, ec)) {
    std::string name = e.path().filename().string();
    if (StartsWith(name, "fedora-") && e.path().extension() == ".ks") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// --- The naive reader ----------------------------------------------------------------------

struct NaiveResult {
  std::vector<std::pair<std::string, std::string>> scripts;  // header word, body
  std::set<std::string> packages, excluded;
  std::set<std::string> command_words;
  bool missing_include = false;
};

class NaiveReader {
 public:
  explicit NaiveReader(NaiveResult& r) : r_(r) {}

  void Read(const fs::path& file) {
    if (!fs::exists(file)) {
      r_.missing_include = true;
      return;
    }
    std::istringstream in(ReadFile(file));
    std::string line;
    while (std::getline(in, line)) {
      std::string_view t = Trim(line);
      std::string first(t.substr(0, t.find_first_of(" \t")));
      if (section_.empty()) {
        if (t.empty() || t[0] == '#') continue;
        if (first == "%include") {
          std::string target(Trim(t.substr(first.size())));
          Read(file.parent_path() / target);
        } else if (first == "%packages") {
          section_ = first;
        } else if (first == "%post" || first == "%pre" || first == "%pre-install" ||
                   first == "%traceback" || first == "%onerror") {
          section_ = first;
          body_.clear();
        } else if (first[0] != '%') {
          r_.command_words.insert(first);
        }
        continue;
      }
      if (first == "%end") {
        if (section_ == "%packages") {
          FlushPackages();
        } else if (!std::string(Trim(body_)).empty()) {
          r_.scripts.emplace_back(section_, body_);
        }
        section_.clear();
        continue;
      }
      if (first == "%include") {
        std::string target(Trim(t.substr(first.size())));
        Read(file.parent_path() / target);
        continue;
      }
      if (section_ == "%packages") {
        std::string_view p = Trim(std::string_view(line).substr(0, line.find('#')));
        if (!p.empty()) lines_.emplace_back(p);
      } else {
        body_ += line + "\n";
      }
    }
  }

 private:
  // pykickstart's Packages.add, which PackageSection.handleLine calls for each line alone.
  void FlushPackages() {
    for (const std::string& p : lines_) {
      if (p[0] == '@') continue;
      if (p[0] == '-') {
        if (p.size() > 1 && p[1] != '@') {
          r_.packages.erase(p.substr(1));
          r_.excluded.insert(p.substr(1));
        }
        continue;
      }
      r_.packages.insert(p);
      r_.excluded.erase(p);
    }
    lines_.clear();
  }

  NaiveResult& r_;
  std::string section_;
  std::string body_;
  std::vector<std::string> lines_;
};

// --- The tests ----------------------------------------------------------------------------

class CorpusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kCorpus)) GTEST_SKIP() << kCorpus << " is absent: corpus tests skipped";
  }
};

TEST_F(CorpusTest, DiagnosticsAreExactlyPykickstarts) {
  std::vector<Expected> expected = LoadExpected();
  ASSERT_FALSE(expected.empty());
  std::vector<bool> seen(expected.size(), false);
  std::vector<fs::path> files = TopLevelFiles();
  ASSERT_GE(files.size(), 60u);
  for (const fs::path& f : files) {
    FileResolver resolver;
    ParseResult r = ParseKickstartFile(f.string(), resolver);
    for (const Diagnostic& d : r.diagnostics.items()) {
      std::string sev = d.severity == Severity::kError ? "error" : "warning";
      std::string where =
          fs::path(d.where.file).filename().string() + ":" + std::to_string(d.where.line);
      bool matched = false;
      for (size_t i = 0; i < expected.size(); ++i) {
        if (expected[i].severity == sev && expected[i].where == where &&
            FormatDiagnostic(d).find(expected[i].text) != std::string::npos) {
          matched = seen[i] = true;
        }
      }
      EXPECT_TRUE(matched) << f.filename() << ": unexpected " << FormatDiagnostic(d);
    }
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(seen[i]) << "never reported: " << expected[i].severity << " " << expected[i].where
                         << " " << expected[i].text;
  }
}

TEST_F(CorpusTest, ContentMatchesAnIndependentReading) {
  int compared = 0;
  for (const fs::path& f : TopLevelFiles()) {
    NaiveResult naive;
    NaiveReader(naive).Read(f);
    if (naive.missing_include) continue;
    FileResolver resolver;
    ParseResult r = ParseKickstartFile(f.string(), resolver);
    const Kickstart& ks = r.kickstart;
    ASSERT_EQ(ks.scripts.size(), naive.scripts.size()) << f.filename();
    for (size_t i = 0; i < ks.scripts.size(); ++i) {
      EXPECT_EQ(ScriptSectionName(ks.scripts[i].kind), naive.scripts[i].first) << f.filename();
      EXPECT_EQ(ks.scripts[i].body, naive.scripts[i].second) << f.filename() << " script " << i;
    }
    EXPECT_EQ(std::set<std::string>(ks.packages.packages.begin(), ks.packages.packages.end()),
              naive.packages)
        << f.filename();
    EXPECT_EQ(std::set<std::string>(ks.packages.excluded.begin(), ks.packages.excluded.end()),
              naive.excluded)
        << f.filename();
    // Every command word the naive reader saw is a command kiln recorded (or rejected).
    for (const std::string& word : naive.command_words) {
      bool recorded = ks.Find(word) != nullptr;
      bool rejected = false;
      for (const Diagnostic& d : r.diagnostics.items()) {
        rejected = rejected || FormatDiagnostic(d).find(word) != std::string::npos;
      }
      EXPECT_TRUE(recorded || rejected) << f.filename() << ": command " << word << " lost";
    }
    ++compared;
  }
  EXPECT_GE(compared, 60);
}

TEST_F(CorpusTest, FlattenedFilesStandAloneAndAreStable) {
  for (const fs::path& f : TopLevelFiles()) {
    FileResolver resolver;
    ParseResult r = ParseKickstartFile(f.string(), resolver);
    if (!r.ok()) continue;
    std::string flat = WriteKickstart(r.kickstart);
    EXPECT_EQ(flat.find("%include"), std::string::npos) << f.filename();
    MemoryResolver nothing;
    ParseResult again = ParseKickstartText(flat, "flat.ks", nothing);
    EXPECT_FALSE(again.diagnostics.HasErrors()) << f.filename() << "\n" << flat;
    EXPECT_EQ(WriteKickstart(again.kickstart), flat) << f.filename();
    EXPECT_EQ(again.kickstart.scripts.size(), r.kickstart.scripts.size()) << f.filename();
  }
}

TEST_F(CorpusTest, DiskMinimalInDetail) {
  // fedora-disk-minimal.ks with fedora-disk-base.ks, fedora-minimal-common.ks and
  // fedora-repo.ks, read by hand: what pykickstart's handler holds afterwards.
  FileResolver resolver;
  ParseResult r = ParseKickstartFile((kCorpus / "fedora-disk-minimal.ks").string(), resolver);
  ASSERT_TRUE(r.ok());
  const Kickstart& ks = r.kickstart;
  EXPECT_EQ(ReadAutopart(ks)->type, "plain");
  EXPECT_TRUE(ReadAutopart(ks)->noswap);
  EXPECT_EQ(ReadDisplayMode(ks), DisplayMode::kText);
  EXPECT_EQ(ReadLang(ks)->lang, "en_US.UTF-8");
  EXPECT_EQ(ReadKeyboard(ks)->keyboard, "us");
  EXPECT_EQ(ReadTimezone(ks)->timezone, "US/Eastern");
  EXPECT_EQ(ReadSelinux(ks), SelinuxMode::kEnforcing);
  EXPECT_EQ(ReadFirewall(ks)->enabled, true);
  EXPECT_EQ(ReadFirewall(ks)->services, std::vector<std::string>{"mdns"});
  // services appears twice; the later line (in fedora-disk-minimal.ks) sets --enabled again.
  EXPECT_EQ(ReadServices(ks)->enabled,
            (std::vector<std::string>{"sshd", "NetworkManager", "chronyd", "initial-setup"}));
  ASSERT_EQ(ReadNetworks(ks).size(), 1u);
  EXPECT_EQ(ReadNetworks(ks)[0].device, "link");
  EXPECT_TRUE(ReadNetworks(ks)[0].activate);
  EXPECT_TRUE(ReadRootpw(ks)->lock);
  EXPECT_TRUE(ReadRootpw(ks)->is_crypted);
  EXPECT_EQ(ReadRootpw(ks)->password, "locked");
  EXPECT_EQ(ReadReboot(ks)->action, RebootAction::kShutdown);
  EXPECT_EQ(ReadBootloader(ks)->timeout, 1);
  EXPECT_TRUE(ReadZerombr(ks));
  EXPECT_EQ(ReadClearpart(ks)->type, "all");
  EXPECT_EQ(ReadClearpart(ks)->disklabel, "msdos");
  EXPECT_EQ(ReadFirstboot(ks), FirstbootAction::kReconfig);
  EXPECT_TRUE(ReadUrl(ks)) << "fedora-repo.ks names the mirror";
  const Packages& p = ks.packages;
  std::vector<std::string> groups;
  for (const PackageGroup& g : p.groups) groups.push_back(g.name);
  // @standard from fedora-disk-base.ks is cancelled by -@standard in fedora-minimal-common.ks.
  EXPECT_EQ(groups, (std::vector<std::string>{"core", "hardware-support", "arm-tools"}));
  ASSERT_EQ(p.excluded_groups.size(), 1u);
  EXPECT_EQ(p.excluded_groups[0].name, "standard");
  for (const char* x :
       {"kernel-lpae", "dracut-config-rescue", "iwl*", "ipw*", "generic-release*"}) {
    EXPECT_TRUE(std::binary_search(p.excluded.begin(), p.excluded.end(), x)) << x;
  }
}

}  // namespace
}  // namespace kiln::spec
