#include "queue/amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "core/untrusted_json.h"

namespace kiln::queue {
namespace {

constexpr amqp_channel_t kChannel = 1;

timeval ToTimeval(std::chrono::milliseconds d) {
  if (d.count() < 0) d = std::chrono::milliseconds(0);
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

amqp_bytes_t Bytes(std::string_view s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());
  return b;
}

std::string Str(amqp_bytes_t b) {
  return b.bytes == nullptr ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

// A readable reason from an RPC reply.
std::string Describe(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return "";
    case AMQP_RESPONSE_NONE:
      return "the broker sent no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
        return "the broker closed the connection: " + Str(m->reply_text);
      }
      if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
        return "the broker closed the channel: " + Str(m->reply_text);
      }
      return "the broker refused the request";
  }
  return "unknown broker error";
}

// x-death: [{reason: "rejected", count: 1, queue: ...}, ...], newest first.
void ReadDeath(const amqp_basic_properties_t& p, Delivery& out) {
  if ((p._flags & AMQP_BASIC_HEADERS_FLAG) == 0) return;
  for (int i = 0; i < p.headers.num_entries; ++i) {
    const amqp_table_entry_t& e = p.headers.entries[i];
    if (Str(e.key) != "x-death" || e.value.kind != AMQP_FIELD_KIND_ARRAY) continue;
    const amqp_array_t& deaths = e.value.value.array;
    if (deaths.num_entries == 0 || deaths.entries[0].kind != AMQP_FIELD_KIND_TABLE) return;
    const amqp_table_t& first = deaths.entries[0].value.table;
    for (int j = 0; j < first.num_entries; ++j) {
      const amqp_table_entry_t& f = first.entries[j];
      std::string key = Str(f.key);
      if (key == "reason" && f.value.kind == AMQP_FIELD_KIND_UTF8) {
        out.death_reason = Str(f.value.value.bytes);
      } else if (key == "count" && f.value.kind == AMQP_FIELD_KIND_I64) {
        out.death_count = f.value.value.i64;
      }
    }
  }
}

}  // namespace

struct AmqpConnection::State {
  amqp_connection_state_t conn = nullptr;
  ~State() {
    if (conn != nullptr) amqp_destroy_connection(conn);
  }
};

std::string BuildQueueName(std::string_view arch, std::string_view release) {
  return "kiln.build." + std::string(arch) + "." + std::string(release);
}

std::string EncodeBuildMessage(const BuildMessage& m) {
  return nlohmann::json(
             {{"build", m.build_id}, {"arch", m.arch}, {"release", m.release}, {"type", m.type}})
      .dump();
}

std::optional<BuildMessage> DecodeBuildMessage(std::string_view body) {
  nlohmann::json j = ParseUntrustedJson(body);
  if (!j.is_object() || !j.contains("build") || !j["build"].is_number_integer()) {
    return std::nullopt;
  }
  BuildMessage m;
  m.build_id = j["build"].get<int64_t>();
  if (m.build_id <= 0) return std::nullopt;
  m.arch = StringField(j, "arch");
  m.release = StringField(j, "release");
  m.type = StringField(j, "type");
  return m;
}

std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

AmqpConnection::AmqpConnection(std::unique_ptr<State> state) : s_(std::move(state)) {}

AmqpConnection::~AmqpConnection() {
  if (!broken_) {
    amqp_channel_close(s_->conn, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(s_->conn, AMQP_REPLY_SUCCESS);
  }
}

Result<std::unique_ptr<AmqpConnection>> AmqpConnection::Open(const std::string& url,
                                                             std::chrono::milliseconds timeout,
                                                             int heartbeat_s) {
  // The seed (and Celery) write the default vhost "/" as a second slash: "HOST//"; to
  // rabbitmq-c that is a vhost with a slash in it. No path means the default vhost.
  std::string normalized = url;
  if (size_t scheme = url.find("://"); scheme != std::string::npos) {
    size_t path = url.find('/', scheme + 3);
    if (path != std::string::npos && url.compare(path, std::string::npos, "//") == 0) {
      normalized = url.substr(0, path);
    }
  }
  std::vector<char> buf(normalized.begin(), normalized.end());
  buf.push_back('\0');
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (url.rfind("amqp://", 0) != 0 || amqp_parse_url(buf.data(), &info) != AMQP_STATUS_OK) {
    return Status::Error("'" + RedactUrl(url) +
                         "' is not an AMQP URL (amqp://USER[:PASSWORD]@HOST[:PORT]/VHOST)");
  }
  auto state = std::make_unique<State>();
  state->conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(state->conn);
  if (socket == nullptr) {
    return Status::Error("cannot create a socket");
  }
  timeval tv = ToTimeval(timeout);
  int status = amqp_socket_open_noblock(socket, info.host, info.port, &tv);
  std::string where = std::string(info.host) + ":" + std::to_string(info.port);
  if (status != AMQP_STATUS_OK) {
    return Status::Error("cannot connect to the broker at " + where + ": " +
                         amqp_error_string2(status));
  }
  int one = 1;
  setsockopt(amqp_socket_get_sockfd(socket), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  amqp_set_rpc_timeout(state->conn, &tv);
  amqp_set_handshake_timeout(state->conn, &tv);
  amqp_rpc_reply_t r = amqp_login(state->conn, info.vhost, 0, 131072, heartbeat_s,
                                  AMQP_SASL_METHOD_PLAIN, info.user, info.password);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    return Status::Error("cannot log in to the broker at " + where + " as '" + info.user +
                         "' (vhost '" + info.vhost + "'): " + Describe(r));
  }
  amqp_channel_open(state->conn, kChannel);
  r = amqp_get_rpc_reply(state->conn);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    return Status::Error("cannot open a channel on the broker at " + where + ": " + Describe(r));
  }
  return std::unique_ptr<AmqpConnection>(new AmqpConnection(std::move(state)));
}

Status AmqpConnection::Rpc(const std::string& what) {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(s_->conn);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return Status::Ok();
  broken_ = true;  // a refused declare closes the channel: start over with a new connection
  return Status::Error(what + ": " + Describe(r));
}

Status AmqpConnection::DeclareDeadLetters() {
  if (declared_.count(kDeadLetterQueue) != 0) return Status::Ok();
  amqp_exchange_declare(s_->conn, kChannel, Bytes(kDeadLetterExchange), Bytes("fanout"), 0, 1, 0, 0,
                        amqp_empty_table);
  if (Status s = Rpc("declaring the dead-letter exchange"); !s.ok()) return s;
  amqp_queue_declare(s_->conn, kChannel, Bytes(kDeadLetterQueue), 0, 1, 0, 0, amqp_empty_table);
  if (Status s = Rpc("declaring the dead-letter queue"); !s.ok()) return s;
  amqp_queue_bind(s_->conn, kChannel, Bytes(kDeadLetterQueue), Bytes(kDeadLetterExchange),
                  Bytes(""), amqp_empty_table);
  if (Status s = Rpc("binding the dead-letter queue"); !s.ok()) return s;
  declared_.insert(kDeadLetterQueue);
  return Status::Ok();
}

Status AmqpConnection::DeclareBuildQueue(const std::string& queue) {
  if (declared_.count(queue) != 0) return Status::Ok();
  if (Status s = DeclareDeadLetters(); !s.ok()) return s;
  amqp_table_entry_t args[1];
  args[0].key = amqp_cstring_bytes("x-dead-letter-exchange");
  args[0].value.kind = AMQP_FIELD_KIND_UTF8;
  args[0].value.value.bytes = amqp_cstring_bytes(kDeadLetterExchange);
  amqp_table_t table{1, args};
  amqp_queue_declare(s_->conn, kChannel, Bytes(queue), 0, 1, 0, 0, table);
  if (Status s = Rpc("declaring queue " + queue); !s.ok()) {
    return Status::Error(s.message() + " (if it exists with other settings, delete it: " +
                         "rabbitmqctl delete_queue " + queue + ")");
  }
  declared_.insert(queue);
  return Status::Ok();
}

Result<int64_t> AmqpConnection::ReadyMessages(const std::string& queue) {
  if (Status s = DeclareBuildQueue(queue); !s.ok()) return s;
  amqp_queue_declare_ok_t* ok =
      amqp_queue_declare(s_->conn, kChannel, Bytes(queue), 1, 0, 0, 0, amqp_empty_table);
  if (Status s = Rpc("counting " + queue); !s.ok()) return s;
  if (ok == nullptr) return Status::Error("counting " + queue + ": no answer");
  return static_cast<int64_t>(ok->message_count);
}

Status AmqpConnection::EnableConfirms() {
  if (confirms_) return Status::Ok();
  amqp_confirm_select_t req{0};
  amqp_simple_rpc_decoded(s_->conn, kChannel, AMQP_CONFIRM_SELECT_METHOD,
                          AMQP_CONFIRM_SELECT_OK_METHOD, &req);
  if (Status s = Rpc("enabling publisher confirms"); !s.ok()) return s;
  confirms_ = true;
  return Status::Ok();
}

Status AmqpConnection::Publish(const std::string& queue, std::string_view body) {
  amqp_basic_properties_t props;
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
  props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
  props.content_type = amqp_cstring_bytes("application/json");
  int status = amqp_basic_publish(s_->conn, kChannel, amqp_empty_bytes, Bytes(queue), 1, 0, &props,
                                  Bytes(body));
  if (status != AMQP_STATUS_OK) {
    broken_ = true;
    return Status::Error("publishing to " + queue + ": " + amqp_error_string2(status));
  }
  if (confirms_) unconfirmed_.insert(next_tag_++);
  return Status::Ok();
}

Status AmqpConnection::WaitForConfirms(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool refused = false;
  while (!unconfirmed_.empty() || returned_) {
    if (returned_ && unconfirmed_.empty()) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      broken_ = true;  // the state of those messages is unknown: start over
      return Status::Error("the broker did not confirm " + std::to_string(unconfirmed_.size()) +
                           " message(s) in time");
    }
    amqp_frame_t frame;
    timeval tv = ToTimeval(left);
    int status = amqp_simple_wait_frame_noblock(s_->conn, &frame, &tv);
    if (status == AMQP_STATUS_TIMEOUT) continue;
    if (status != AMQP_STATUS_OK) {
      broken_ = true;
      return Status::Error(std::string("waiting for confirms: ") + amqp_error_string2(status));
    }
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    switch (frame.payload.method.id) {
      case AMQP_BASIC_ACK_METHOD: {
        auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
        if (ack->multiple) {
          unconfirmed_.erase(unconfirmed_.begin(), unconfirmed_.upper_bound(ack->delivery_tag));
        } else {
          unconfirmed_.erase(ack->delivery_tag);
        }
        break;
      }
      case AMQP_BASIC_NACK_METHOD: {
        auto* nack = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
        refused = true;
        if (nack->multiple) {
          unconfirmed_.erase(unconfirmed_.begin(), unconfirmed_.upper_bound(nack->delivery_tag));
        } else {
          unconfirmed_.erase(nack->delivery_tag);
        }
        break;
      }
      case AMQP_BASIC_RETURN_METHOD: {
        // The returned message's header and body follow: read them off the channel.
        amqp_message_t message;
        amqp_read_message(s_->conn, frame.channel, &message, 0);
        amqp_destroy_message(&message);
        returned_ = true;
        break;
      }
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD:
        broken_ = true;
        return Status::Error("the broker closed the connection while confirming");
      default:
        break;
    }
  }
  if (returned_) {
    returned_ = false;
    return Status::Error("the broker returned a message: its queue does not exist");
  }
  if (refused) return Status::Error("the broker refused (nack) a message");
  return Status::Ok();
}

Status AmqpConnection::Qos(int prefetch) {
  amqp_basic_qos(s_->conn, kChannel, 0, static_cast<uint16_t>(prefetch), 1);
  return Rpc("setting the prefetch count");
}

Status AmqpConnection::Consume(const std::string& queue) {
  amqp_basic_consume(s_->conn, kChannel, Bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  return Rpc("consuming " + queue);
}

AmqpConnection::Wait AmqpConnection::NextDelivery(std::chrono::milliseconds timeout, Delivery& out,
                                                  std::string& error) {
  if (broken_) return Wait::kBroken;
  amqp_maybe_release_buffers(s_->conn);
  amqp_envelope_t envelope;
  timeval tv = ToTimeval(timeout);
  amqp_rpc_reply_t r = amqp_consume_message(s_->conn, &envelope, &tv, 0);
  if (r.reply_type == AMQP_RESPONSE_NORMAL) {
    out = Delivery{};
    out.tag = envelope.delivery_tag;
    out.routing_key = Str(envelope.routing_key);
    out.body = Str(envelope.message.body);
    out.redelivered = envelope.redelivered != 0;
    ReadDeath(envelope.message.properties, out);
    amqp_destroy_envelope(&envelope);
    return Wait::kDelivery;
  }
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) {
    return Wait::kTimeout;
  }
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
      r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
    // A frame other than a delivery: a close ends the connection, anything else is dropped.
    amqp_frame_t frame;
    timeval none = ToTimeval(std::chrono::milliseconds(0));
    int status = amqp_simple_wait_frame_noblock(s_->conn, &frame, &none);
    if (status == AMQP_STATUS_OK && frame.frame_type == AMQP_FRAME_METHOD) {
      amqp_method_number_t id = frame.payload.method.id;
      if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD ||
          id == AMQP_BASIC_CANCEL_METHOD) {
        error = id == AMQP_BASIC_CANCEL_METHOD
                    ? "the broker cancelled the consumer (queue deleted?)"
                    : "the broker closed the connection";
        broken_ = true;
        return Wait::kBroken;
      }
    }
    if (status != AMQP_STATUS_OK && status != AMQP_STATUS_TIMEOUT) {
      error = amqp_error_string2(status);
      broken_ = true;
      return Wait::kBroken;
    }
    return Wait::kTimeout;
  }
  error = Describe(r);
  broken_ = true;
  return Wait::kBroken;
}

bool AmqpConnection::Ack(uint64_t tag) {
  if (amqp_basic_ack(s_->conn, kChannel, tag, 0) != AMQP_STATUS_OK) broken_ = true;
  return !broken_;
}

bool AmqpConnection::Reject(uint64_t tag, bool requeue) {
  if (amqp_basic_reject(s_->conn, kChannel, tag, requeue ? 1 : 0) != AMQP_STATUS_OK) {
    broken_ = true;
  }
  return !broken_;
}

int AmqpConnection::fd() const { return amqp_get_sockfd(s_->conn); }

bool AmqpConnection::HasBuffered() const {
  return amqp_frames_enqueued(s_->conn) != 0 || amqp_data_in_buffer(s_->conn) != 0;
}

void AmqpConnection::Idle(std::chrono::milliseconds timeout) {
  if (broken_) return;
  amqp_frame_t frame;
  timeval tv = ToTimeval(timeout);
  int status = amqp_simple_wait_frame_noblock(s_->conn, &frame, &tv);
  if (status == AMQP_STATUS_TIMEOUT) return;
  if (status != AMQP_STATUS_OK) {
    broken_ = true;
    return;
  }
  if (frame.frame_type == AMQP_FRAME_METHOD &&
      (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
       frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)) {
    broken_ = true;
  }
}

}  // namespace kiln::queue
