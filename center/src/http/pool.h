// The HTTP server's workers: a fixed number of threads taking tasks from a bounded queue.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gridwatch::center::http {

class WorkerPool {
 public:
  WorkerPool(int threads, size_t capacity) : capacity_(capacity) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false when `capacity` tasks already wait (unless `always`: the server's
  // own work, bounded by other means) or the pool is stopped.
  bool submit(std::function<void()> task, bool always = false) {
    {
      std::lock_guard lock(mu_);
      if (stopped_ || (!always && tasks_.size() >= capacity_)) return false;
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  size_t queued() const {
    std::lock_guard lock(mu_);
    return tasks_.size();
  }

  // Drops the tasks still waiting and waits for the running ones.
  void stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      dropped.swap(tasks_);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopped_ || !tasks_.empty(); });
        if (stopped_) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace gridwatch::center::http
