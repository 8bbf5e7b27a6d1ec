// Processes sharing one repodata cache: concurrent fetches of the same URL
// serialize on the entry's lock, so one downloads and the others revalidate
// (304), every process reads a complete document, and no temp file stays.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "builder/conda/channel/repodata_fetch.hpp"
#include "tests/support/conda_channel.hpp"
#include "tests/support/files.hpp"
#include "tests/support/static_http_server.hpp"
#include "tests/support/temp_dir.hpp"

using namespace envbuild;
using namespace envbuild::builder::conda;
namespace fs = std::filesystem;

namespace {

// Runs `body` in a forked child that exits 0 on success, 1 on failure.
pid_t spawn(const std::function<bool()>& body) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int code = 1;
    try {
      code = body() ? 0 : 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
    }
    ::_exit(code);  // never return into the test framework
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

TEST(CondaChannelConcurrency, ProcessesShareOneCache) {
  envbuild::testing::TempDir tmp("envbuild-conda-concurrency");
  envbuild::testing::CondaChannel channel(tmp.path() / "srv" / "chan");
  channel.add_generated(3000, "pkg", 1, false, "linux-64");  // ~1 MB of JSON
  envbuild::testing::RepodataWriteOptions w;
  w.zst = true;
  channel.write_repodata(w);
  const std::string expected =
      envbuild::testing::slurp(channel.root() / "linux-64" / "repodata.json");
  envbuild::testing::StaticHttpServer server(tmp.path() / "srv");
  // Slow answers make the fetches overlap.
  server.set_delay(std::chrono::milliseconds(300));
  const fs::path cache = tmp.path() / "cache";
  const std::string url = server.url() + "/chan";

  constexpr int kProcesses = 4;
  for (int round = 0; round < 2; ++round) {
    std::vector<pid_t> children;
    for (int i = 0; i < kProcesses; ++i) {
      children.push_back(spawn([&] {
        RepodataFetchOptions o;
        o.cache_dir = cache;
        RepodataFetcher fetcher(o);
        FetchedRepodata r = fetcher.fetch(resolve_channel(url), "linux-64");
        if (r.body->view() != expected) {
          std::fprintf(stderr, "child read %zu bytes, expected %zu\n", r.body->view().size(),
                       expected.size());
          return false;
        }
        return true;
      }));
    }
    for (pid_t pid : children) EXPECT_EQ(wait_for(pid), 0);
  }
  const std::string zst = "/chan/linux-64/repodata.json.zst";
  // One download; every other fetch (3 in the first round, 4 in the second)
  // waited for the lock and revalidated.
  EXPECT_EQ(server.requests(zst, 200), 1u);
  EXPECT_EQ(server.requests(zst, 304), 2u * kProcesses - 1);
  EXPECT_EQ(server.total_requests(), 2u * kProcesses);
  for (const auto& e : fs::directory_iterator(cache)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

TEST(CondaChannelConcurrency, ReadersKeepTheirDocumentWhileItIsReplaced) {
  envbuild::testing::TempDir tmp("envbuild-conda-replace");
  envbuild::testing::CondaChannel channel(tmp.path() / "srv" / "chan");
  channel.add_generated(200, "pkg", 1, false, "noarch");
  channel.write_repodata();
  envbuild::testing::StaticHttpServer server(tmp.path() / "srv");
  RepodataFetchOptions o;
  o.cache_dir = tmp.path() / "cache";
  RepodataFetcher fetcher(o);
  Channel ch = resolve_channel(server.url() + "/chan");
  FetchedRepodata before = fetcher.fetch(ch, "noarch");
  const std::string copy(before.body->view());
  // Another process replaces the entry with a different document.
  channel.add_generated(10, "late", 1, false, "noarch");
  channel.write_repodata();
  fs::path plain = channel.root() / "noarch" / "repodata.json";
  fs::last_write_time(plain, fs::last_write_time(plain) + std::chrono::seconds(5));
  pid_t pid = spawn([&] {
    RepodataFetcher other(o);
    return other.fetch(ch, "noarch").source == FetchSource::Downloaded;
  });
  EXPECT_EQ(wait_for(pid), 0);
  // The mapping this process holds still shows the document it fetched.
  EXPECT_EQ(before.body->view(), copy);
  EXPECT_NE(fetcher.fetch(ch, "noarch").body->view(), copy);
}
