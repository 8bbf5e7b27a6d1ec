#pragma once
// Runs N independent tasks on a bounded number of threads. Used for blob
// transfers, where a handful of concurrent connections saturate a link.
#include <cstddef>
#include <functional>

namespace envbuild::registry {

// Calls task(i) for i in [0, count) on up to `workers` threads. After the
// first exception no new task starts; once all threads are joined, that
// exception is rethrown.
void run_parallel(size_t count, size_t workers, const std::function<void(size_t)>& task);

}  // namespace envbuild::registry
