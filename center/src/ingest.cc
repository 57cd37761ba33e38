#include "gridwatch/center/center.h"

// The ingest thread: order messages from the queue, validated, placed and stored in batches;
// invalid ones kept as dead letters; an unavailable database retried, nothing dropped.

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace gridwatch::center {

void Center::ingest_loop() {
  while (auto m = queue_.pop()) {
    // Whatever else is waiting goes along, up to a batch: one transaction, one pipeline.
    std::vector<platform::MqttMessage> batch;
    batch.push_back(std::move(*m));
    while (batch.size() < kIngestBatch) {
      auto more = queue_.pop_for(std::chrono::milliseconds{0});
      if (!more.message) break;
      batch.push_back(std::move(*more.message));
    }
    ingest_batch(batch);
  }
}

namespace {

// Waits between attempts at an unavailable database: 0.2 s, doubling, at most 5 s.
std::chrono::milliseconds retry_backoff(int attempt) {
  return std::chrono::milliseconds(std::min(5000, 200 * (1 << std::min(attempt, 5))));
}

}  // namespace

// Retries while the database is unavailable, so the bad message is not lost either.
void Center::keep_dead_letter(const std::string& topic, const Error& e, const std::string& payload) {
  metrics_.rejected(e);
  spdlog::warn("order message on {} rejected: {}", topic, e.message);
  for (int attempt = 0;; ++attempt) {
    auto st = store_->add_dead_letter(topic, e.message, payload);
    if (st) return;
    if (st.error().code != ErrorCode::kUnavailable) {
      spdlog::error("dead letter not stored: {}", st.error().message);
      return;
    }
    ++metrics_.store_retries;
    if (queue_.wait_closed_for(retry_backoff(attempt))) {
      spdlog::error("stopping with the database down: rejected message on {} not kept", topic);
      return;
    }
  }
}

void Center::ingest_batch(std::vector<platform::MqttMessage>& batch) {
  metrics_.received += batch.size();
  CodecLimits limits;
  limits.max_payload_bytes = config_.max_payload_bytes;
  struct Item {
    size_t message;
    OrderEvent event;
    Store::Placement placement;
  };
  std::vector<Item> items;
  items.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const platform::MqttMessage& m = batch[i];
    auto event = decode_order(m.payload, catalog_, limits);
    // An order must come from the agent its topic names: {prefix}/orders/{agent_id}.
    if (event) {
      std::string expected = fmt::format("{}/orders/{}", config_.topic_prefix, event->source.agent_id);
      if (m.topic != expected)
        event = fail(ErrorCode::kInvalidArgument,
                     fmt::format("field 'source.agent_id': \"{}\" does not match topic {}", event->source.agent_id,
                                 m.topic),
                     "source.agent_id");
    }
    if (!event) {
      keep_dead_letter(m.topic, event.error(), m.payload);
      continue;
    }
    // Placed in the administrative areas (the finest one and all its ancestors).
    auto placement = Store::Placement::of(
        areas_.get(), event->location ? std::optional<LonLat>(event->location->position) : std::nullopt);
    items.push_back(Item{i, std::move(*event), std::move(placement)});
  }
  std::vector<Store::EdgeEvent> events;
  std::vector<std::string_view> topics;
  events.reserve(items.size());
  for (const Item& it : items) {
    events.push_back({&it.event, batch[it.message].payload, &it.placement});
    topics.push_back(batch[it.message].topic);
  }
  store_events(events, topics);
}

void Center::store_events(const std::vector<Store::EdgeEvent>& events, const std::vector<std::string_view>& topics) {
  if (events.empty()) return;
  auto keep = [&](size_t k, const std::string& reason) {
    keep_dead_letter(std::string(topics[k]), Error{ErrorCode::kInternal, reason, "database"}, std::string(events[k].raw));
  };
  // Retry while the database is unavailable: the batch is not lost, and the messages behind it
  // wait. Other errors are a bug or bad data: those messages go to the dead letters.
  for (int attempt = 0;; ++attempt) {
    auto r = store_->apply_batch(events);
    if (r) {
      for (size_t k = 0; k < events.size(); ++k) {
        const OrderEvent& e = *events[k].event;
        const auto& one = (*r)[k];
        if (!one) {
          keep(k, one.error().message);
        } else if (one->stored == Stored::kDuplicate) {
          ++metrics_.duplicates;
          spdlog::debug("order {} {} already stored", to_string(e.event), e.id);
        } else {
          ++metrics_.stored;
          if (one->stored == Stored::kMerged) ++metrics_.merged;
          live_.publish(one->case_id, {{"type", std::string(to_string(one->stored))},
                                       {"case_id", one->case_id},
                                       {"source_id", e.id},
                                       {"event", to_string(e.event)},
                                       {"category", e.category}});
          spdlog::info("order {} {} ({}) stored: {} case {}", to_string(e.event), e.id, e.category, to_string(one->stored),
                       one->case_id);
        }
      }
      return;
    }
    if (r.error().code != ErrorCode::kUnavailable) {
      if (events.size() == 1) return keep(0, r.error().message);
      // Something in the batch broke it as a whole: store the events one by one, so that only
      // the guilty one is kept aside.
      spdlog::warn("batch of {} order events refused ({}); storing them one by one", events.size(), r.error().message);
      for (size_t k = 0; k < events.size(); ++k) store_events({events[k]}, {topics[k]});
      return;
    }
    ++metrics_.store_retries;
    spdlog::warn("database unavailable ({}); {} order events wait", r.error().message, events.size());
    if (queue_.wait_closed_for(retry_backoff(attempt))) {
      spdlog::error("stopping with the database down: {} order events not stored", events.size());
      return;
    }
  }
}

}  // namespace gridwatch::center
