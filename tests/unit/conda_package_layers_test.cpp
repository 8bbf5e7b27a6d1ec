// Which conda packages share a layer: none up to the limit, then the
// smallest, so the large packages (the ones worth sharing) keep their own.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "builder/conda/install/package_layers.hpp"

using namespace envbuild::builder::conda;

namespace {

std::vector<PackageRecord> records_of_sizes(const std::vector<uint64_t>& sizes) {
  std::vector<PackageRecord> out;
  for (size_t i = 0; i < sizes.size(); ++i) {
    PackageRecord r;
    r.name = "p" + std::to_string(i);
    r.size = sizes[i];
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST(CondaPackageLayers, OneLayerEachUpToTheLimit) {
  EXPECT_TRUE(layer_groups({}).empty());
  std::vector<uint64_t> sizes(kMaxPackageLayers, 10);
  const auto groups = layer_groups(records_of_sizes(sizes));
  ASSERT_EQ(groups.size(), kMaxPackageLayers);
  for (size_t i = 0; i < groups.size(); ++i) EXPECT_EQ(groups[i], std::vector<size_t>{i});
}

TEST(CondaPackageLayers, BeyondTheLimitTheSmallestShareTheLastLayer) {
  std::vector<uint64_t> sizes;
  const size_t n = kMaxPackageLayers + 30;
  for (size_t i = 0; i < n; ++i) sizes.push_back(i % 2 ? 1000 + i : 5 + i);  // odd ones large
  const auto groups = layer_groups(records_of_sizes(sizes));
  ASSERT_EQ(groups.size(), kMaxPackageLayers);
  std::set<size_t> seen;
  for (size_t g = 0; g + 1 < groups.size(); ++g) {
    ASSERT_EQ(groups[g].size(), 1u);
    seen.insert(groups[g][0]);
    if (g > 0) {
      EXPECT_LT(groups[g - 1][0], groups[g][0]) << "install order is kept";
    }
  }
  const std::vector<size_t>& shared = groups.back();
  EXPECT_EQ(shared.size(), n - (kMaxPackageLayers - 1));
  for (size_t i : shared) seen.insert(i);
  EXPECT_EQ(seen.size(), n) << "every package is in exactly one layer";
  // Every package of its own is at least as large as every shared one.
  uint64_t smallest_own = UINT64_MAX, largest_shared = 0;
  for (size_t g = 0; g + 1 < groups.size(); ++g)
    smallest_own = std::min(smallest_own, sizes[groups[g][0]]);
  for (size_t i : shared) largest_shared = std::max(largest_shared, sizes[i]);
  EXPECT_GE(smallest_own, largest_shared);
  // All 65 large packages keep their own layer.
  for (size_t i = 1; i < n; i += 2) EXPECT_EQ(std::count(shared.begin(), shared.end(), i), 0) << i;
}
