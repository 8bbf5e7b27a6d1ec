#pragma once
// The order packages are linked and layered in: dependencies before the
// packages that need them (conda links in this order too), ties and cycles
// broken by name, so the order is a function of the set alone.
#include <vector>

#include "builder/conda/package_record.hpp"

namespace envbuild::builder::conda {

std::vector<PackageRecord> install_order(std::vector<PackageRecord> records);

}  // namespace envbuild::builder::conda
