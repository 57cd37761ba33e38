#include "gridwatch/center/center.h"

// The ingest thread: order messages from the queue, validated, placed and stored in batches;
// invalid ones kept as dead letters; an unavailable database retried, nothing dropped.

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bus.h"

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
bool Center::keep_dead_letter(const std::string& topic, const Error& e, const std::string& payload) {
  metrics_.rejected(e);
  spdlog::warn("order message on {} rejected: {}", topic, e.message);
  for (int attempt = 0;; ++attempt) {
    auto st = store_->add_dead_letter(topic, e.message, payload);
    if (st) return true;
    if (st.error().code != ErrorCode::kUnavailable) {
      // Sending it again would not change that: it counts as kept (logged, counted).
      spdlog::error("dead letter not stored: {}", st.error().message);
      return true;
    }
    ++metrics_.store_retries;
    if (queue_.wait_closed_for(retry_backoff(attempt))) {
      spdlog::error("stopping with the database down: rejected message on {} not kept", topic);
      return false;
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
  std::vector<bool> kept(batch.size(), false);
  for (size_t i = 0; i < batch.size(); ++i) {
    const platform::MqttMessage& m = batch[i];
    auto event = decode_order(m.payload, catalog_, limits);
    // An order must come from the agent its topic names: {prefix}/orders/{agent_id}.
    if (event) {
      std::string expected = fmt::format("{}/orders/{}", config_.topic_prefix, event->source.agent_id);
      if (m.topic != expected)
        event = fail(ErrorCode::kInvalidArgument,
                     fmt::format("field 'source.agent_id': \"{}\" does not match topic {}{}", event->source.agent_id,
                                 m.topic,
                                 event->source.agent_id.find('.') != std::string::npos &&
                                         config_.broker_kind == CenterConfig::BrokerKind::kRabbitmq
                                     ? " (RabbitMQ's MQTT plugin makes a '.' in a topic a level: rename the agent)"
                                     : ""),
                     "source.agent_id");
    }
    if (!event) {
      kept[i] = keep_dead_letter(m.topic, event.error(), m.payload);
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
  const std::vector<bool> stored = store_events(events, topics);
  for (size_t k = 0; k < items.size(); ++k) kept[items[k].message] = stored[k];
  // The transaction has committed: the broker may forget what is kept (RabbitMQ: acknowledged
  // now; what is not kept, because the center stops with the database down, goes to another
  // center), and the agents may forget it too.
  std::vector<uint64_t> settled;
  for (size_t i = 0; i < batch.size(); ++i)
    if (kept[i] && batch[i].delivery != 0) settled.push_back(batch[i].delivery);
  bus_->settle(settled);
  confirm_stored(batch, kept);
}

void Center::confirm_stored(const std::vector<platform::MqttMessage>& batch, const std::vector<bool>& kept) {
  // The three fields as the agent sent them (its outbox knows its events by them), per agent.
  const std::string head = config_.topic_prefix + "/orders/";
  std::map<std::string, nlohmann::json> by_agent;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!kept[i] || !batch[i].topic.starts_with(head)) continue;
    const auto j = nlohmann::json::parse(batch[i].payload, nullptr, false);
    if (!j.is_object()) continue;
    nlohmann::json one = nlohmann::json::object();
    for (const char* k : {"id", "event", "observed_at"})
      if (const auto it = j.find(k); it != j.end() && it->is_string()) one[k] = *it;
    if (one.size() != 3) continue;  // not an event an outbox holds
    auto& list = by_agent[batch[i].topic.substr(head.size())];
    if (list.is_null()) list = nlohmann::json::array();
    list.push_back(std::move(one));
  }
  for (auto& [agent, list] : by_agent) {
    const std::string topic = fmt::format("{}/agents/{}/stored", config_.topic_prefix, agent);
    if (auto st = bus_->publish(topic, nlohmann::json{{"stored", std::move(list)}}.dump()); !st) {
      // The agent publishes the events again after its confirm_timeout: stored before, confirmed then.
      ++metrics_.publish_failures;
      spdlog::warn("confirmation to agent {} not sent: {}", agent, st.error().message);
    }
  }
}

std::vector<bool> Center::store_events(const std::vector<Store::EdgeEvent>& events,
                                       const std::vector<std::string_view>& topics) {
  std::vector<bool> kept(events.size(), false);
  if (events.empty()) return kept;
  auto keep = [&](size_t k, const std::string& reason) {
    kept[k] = keep_dead_letter(std::string(topics[k]), Error{ErrorCode::kInternal, reason, "database"},
                               std::string(events[k].raw));
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
          continue;
        }
        kept[k] = true;
        if (one->stored == Stored::kDuplicate) {
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
      return kept;
    }
    if (r.error().code != ErrorCode::kUnavailable) {
      if (events.size() == 1) {
        keep(0, r.error().message);
        return kept;
      }
      // Something in the batch broke it as a whole: store the events one by one, so that only
      // the guilty one is kept aside.
      spdlog::warn("batch of {} order events refused ({}); storing them one by one", events.size(), r.error().message);
      for (size_t k = 0; k < events.size(); ++k) kept[k] = store_events({events[k]}, {topics[k]})[0];
      return kept;
    }
    ++metrics_.store_retries;
    spdlog::warn("database unavailable ({}); {} order events wait", r.error().message, events.size());
    if (queue_.wait_closed_for(retry_backoff(attempt))) {
      spdlog::error("stopping with the database down: {} order events not stored", events.size());
      return kept;
    }
  }
}

}  // namespace gridwatch::center
