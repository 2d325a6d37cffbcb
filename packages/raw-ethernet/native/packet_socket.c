/*
 * raw_ethernet.node: a Linux AF_PACKET socket for Node.js over N-API (node_api.h only).
 *
 * JavaScript API (wrapped by src/native.ts; nothing else loads this file):
 *   interfaceInfo(name) -> { name, index, mac: '12 hex', mtu, hardwareType, up, running }
 *   new PacketSocket()
 *     .open(name, protocol, rcvbuf) -> interfaceInfo   socket(AF_PACKET, SOCK_RAW, 0) + bind(ifindex,
 *                                              protocol) + SO_RCVBUFFORCE (SO_RCVBUF without CAP_NET_ADMIN)
 *     .addUnicast(macHex)                      PACKET_ADD_MEMBERSHIP PACKET_MR_UNICAST
 *     .start(onFrame(frame, pktType), onError(err))   uv_poll_t on the fd
 *     .send(frame) -> octets sent              sendto + sockaddr_ll, MSG_DONTWAIT
 *     .close()                                 idempotent; stops the poll so the process can exit
 *     .stats() -> { received, truncated, dropped, receiveBufferOctets }   dropped: PACKET_STATISTICS tp_drops
 * Every failed system call throws (or passes to onError) an Error with `code` (the errno name,
 * from libuv's uv_err_name), `errno` (positive) and `syscall`.
 *
 * 802.1Q: the kernel moves a received VLAN tag out of the frame into packet metadata (skb
 * vlan_tci). When it is still there at delivery (sockets bound to ETH_P_ALL), PACKET_AUXDATA
 * returns it in tpacket_auxdata and it is put back into the frame here (TPID + TCI after the
 * source MAC), so JavaScript sees the frame as it was on the wire. Sockets bound to one EtherType
 * get the frame after the kernel has cleared the tag: it arrives untagged (see src/ docs).
 * Frames longer than the receive buffer (MSG_TRUNC) are dropped and counted in stats().
 *
 * Lifetime: while started, a poll holder keeps a strong reference to the JS object, the callbacks
 * and the async context; close() stops the poll and uv_close()s it, and the close callback (a
 * later loop turn, never inside on_poll) releases them, so nothing is freed under a running
 * callback even when JavaScript calls close() from inside onFrame.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Frames read per readable event before yielding to the event loop. */
#define MAX_DRAIN 256
/* Receive buffer: MTU plus headers and two VLAN tags, bounded. */
#define MIN_RECV_BUFFER 2048
#define MAX_RECV_BUFFER (256 * 1024)

typedef struct poll_holder poll_holder;

typedef struct {
  napi_env env;
  int fd;
  int ifindex;
  int protocol; /* host byte order; ETH_P_ALL = 3 */
  char ifname[IF_NAMESIZE];
  unsigned char *buf;
  size_t buf_len;
  poll_holder *poll; /* non-NULL while started */
  int hook_registered;
  double received;
  double truncated;
  double dropped;
} packet_socket;

struct poll_holder {
  uv_poll_t handle;
  packet_socket *s; /* NULL once closing */
  napi_env env;
  napi_async_context ctx;
  napi_ref self;
  napi_ref on_frame;
  napi_ref on_error;
};

/* ---------- errors ---------- */

static napi_value make_errno_error(napi_env env, int err, const char *syscall, const char *ifname) {
  char msg[256];
  const char *name = uv_err_name(-err);
  if (ifname != NULL && ifname[0] != '\0') {
    snprintf(msg, sizeof msg, "%s on %s: %s (%s)", syscall, ifname, strerror(err), name);
  } else {
    snprintf(msg, sizeof msg, "%s: %s (%s)", syscall, strerror(err), name);
  }
  napi_value code, message, error, errno_value, syscall_value;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  return error;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *ifname) {
  napi_throw(env, make_errno_error(env, err, syscall, ifname));
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) {                          \
      const napi_extended_error_info *info = NULL;    \
      napi_get_last_error_info(env, &info);           \
      bool pending = false;                           \
      napi_is_exception_pending(env, &pending);       \
      if (!pending)                                   \
        napi_throw_error(env, "ERR_NAPI",             \
                         info && info->error_message  \
                             ? info->error_message    \
                             : "N-API call failed");  \
      return NULL;                                    \
    }                                                 \
  } while (0)

/* ---------- helpers ---------- */

static void hex12(const unsigned char *mac, char out[13]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 6; i++) {
    out[2 * i] = digits[mac[i] >> 4];
    out[2 * i + 1] = digits[mac[i] & 0x0f];
  }
  out[12] = '\0';
}

static int parse_hex12(const char *s, unsigned char mac[6]) {
  if (strlen(s) != 12) return -1;
  for (int i = 0; i < 6; i++) {
    unsigned v = 0;
    for (int j = 0; j < 2; j++) {
      char c = s[2 * i + j];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
      else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
      else return -1;
    }
    mac[i] = (unsigned char)v;
  }
  return 0;
}

/* Reads an interface name argument: 1..IF_NAMESIZE-1 octets. Returns 0, or throws and returns -1. */
static int get_ifname(napi_env env, napi_value v, char out[IF_NAMESIZE]) {
  size_t len = 0;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_string) {
    throw_type(env, "interface name must be a string");
    return -1;
  }
  char tmp[64];
  if (napi_get_value_string_utf8(env, v, tmp, sizeof tmp, &len) != napi_ok) return -1;
  if (len == 0 || len >= IF_NAMESIZE || len >= sizeof tmp - 1) {
    napi_value code, msg, err;
    napi_create_string_utf8(env, "EINVAL", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, "interface name must be 1..15 characters", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, code, msg, &err);
    napi_throw(env, err);
    return -1;
  }
  memcpy(out, tmp, len + 1);
  return 0;
}

typedef struct {
  int index;
  unsigned char mac[6];
  int mtu;
  int hardware_type;
  int up;
  int running;
} if_info;

/* Fills `info` for `name` with ioctls on a throw-away AF_INET datagram socket (no privilege needed).
 * Returns 0 or an errno; *syscall names the failed call. */
static int query_interface(const char *name, if_info *info, const char **syscall) {
  struct ifreq ifr;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *syscall = "socket(AF_INET)";
    return errno;
  }
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IF_NAMESIZE - 1);
  int err = 0;
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
    err = errno;
    *syscall = "ioctl(SIOCGIFINDEX)";
    goto done;
  }
  info->index = ifr.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
    err = errno;
    *syscall = "ioctl(SIOCGIFHWADDR)";
    goto done;
  }
  info->hardware_type = ifr.ifr_hwaddr.sa_family;
  memcpy(info->mac, ifr.ifr_hwaddr.sa_data, 6);
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
    err = errno;
    *syscall = "ioctl(SIOCGIFMTU)";
    goto done;
  }
  info->mtu = ifr.ifr_mtu;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
    err = errno;
    *syscall = "ioctl(SIOCGIFFLAGS)";
    goto done;
  }
  info->up = (ifr.ifr_flags & IFF_UP) != 0;
  info->running = (ifr.ifr_flags & IFF_RUNNING) != 0;
done:
  close(fd);
  return err;
}

static napi_value info_object(napi_env env, const char *name, const if_info *info) {
  napi_value obj, v;
  char mac[13];
  hex12(info->mac, mac);
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v));
  CHECK(napi_set_named_property(env, obj, "name", v));
  CHECK(napi_create_int32(env, info->index, &v));
  CHECK(napi_set_named_property(env, obj, "index", v));
  CHECK(napi_create_string_utf8(env, mac, 12, &v));
  CHECK(napi_set_named_property(env, obj, "mac", v));
  CHECK(napi_create_int32(env, info->mtu, &v));
  CHECK(napi_set_named_property(env, obj, "mtu", v));
  CHECK(napi_create_int32(env, info->hardware_type, &v));
  CHECK(napi_set_named_property(env, obj, "hardwareType", v));
  CHECK(napi_get_boolean(env, info->up, &v));
  CHECK(napi_set_named_property(env, obj, "up", v));
  CHECK(napi_get_boolean(env, info->running, &v));
  CHECK(napi_set_named_property(env, obj, "running", v));
  return obj;
}

/* interfaceInfo(name) */
static napi_value js_interface_info(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, cbinfo, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "interfaceInfo(name) needs an interface name");
  char name[IF_NAMESIZE];
  if (get_ifname(env, argv[0], name) != 0) return NULL;
  if_info info;
  const char *syscall = "";
  int err = query_interface(name, &info, &syscall);
  if (err != 0) return throw_errno(env, err, syscall, name);
  return info_object(env, name, &info);
}

/* ---------- PacketSocket ---------- */

static void on_env_cleanup(void *arg);

static void holder_close_cb(uv_handle_t *h) {
  poll_holder *p = (poll_holder *)h->data;
  napi_env env = p->env;
  if (p->on_frame) napi_delete_reference(env, p->on_frame);
  if (p->on_error) napi_delete_reference(env, p->on_error);
  if (p->ctx) napi_async_destroy(env, p->ctx);
  if (p->self) napi_delete_reference(env, p->self);
  free(p);
}

/* Stops receiving and closes the fd. Safe to call any number of times, from anywhere. */
static void socket_close(packet_socket *s) {
  if (s->poll != NULL) {
    poll_holder *p = s->poll;
    s->poll = NULL;
    p->s = NULL;
    uv_poll_stop(&p->handle);
    uv_close((uv_handle_t *)&p->handle, holder_close_cb);
  }
  if (s->hook_registered) {
    s->hook_registered = 0;
    napi_remove_env_cleanup_hook(s->env, on_env_cleanup, s);
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
}

static void on_env_cleanup(void *arg) {
  packet_socket *s = (packet_socket *)arg;
  s->hook_registered = 0; /* the hook is being run: do not remove it */
  socket_close(s);
}

static void socket_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  packet_socket *s = (packet_socket *)data;
  socket_close(s);
  free(s->buf);
  free(s);
}

static packet_socket *unwrap_this(napi_env env, napi_callback_info cbinfo, size_t *argc, napi_value *argv, napi_value *this_out) {
  napi_value this_arg;
  if (napi_get_cb_info(env, cbinfo, argc, argv, &this_arg, NULL) != napi_ok) return NULL;
  packet_socket *s = NULL;
  if (napi_unwrap(env, this_arg, (void **)&s) != napi_ok || s == NULL) {
    throw_type(env, "not a PacketSocket");
    return NULL;
  }
  if (this_out) *this_out = this_arg;
  return s;
}

static napi_value js_constructor(napi_env env, napi_callback_info cbinfo) {
  napi_value this_arg, target;
  CHECK(napi_get_new_target(env, cbinfo, &target));
  if (target == NULL) return throw_type(env, "PacketSocket must be called with new");
  CHECK(napi_get_cb_info(env, cbinfo, NULL, NULL, &this_arg, NULL));
  packet_socket *s = calloc(1, sizeof *s);
  if (s == NULL) return throw_errno(env, ENOMEM, "calloc", NULL);
  s->env = env;
  s->fd = -1;
  if (napi_wrap(env, this_arg, s, socket_finalize, NULL, NULL) != napi_ok) {
    free(s);
    return throw_type(env, "cannot wrap PacketSocket");
  }
  return this_arg;
}

/* open(name, protocol): interface lookup first (ENODEV needs no privilege and is the more useful
 * error), then socket(AF_PACKET) with protocol 0 so nothing is queued before bind() restricts the
 * socket to one interface and one EtherType. */
static napi_value js_open(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 3;
  napi_value argv[3];
  packet_socket *s = unwrap_this(env, cbinfo, &argc, argv, NULL);
  if (s == NULL) return NULL;
  if (argc < 2) return throw_type(env, "open(name, protocol) needs two arguments");
  if (s->fd >= 0 || s->poll != NULL) return throw_errno(env, EISCONN, "open", s->ifname);
  char name[IF_NAMESIZE];
  if (get_ifname(env, argv[0], name) != 0) return NULL;
  int32_t protocol;
  if (napi_get_value_int32(env, argv[1], &protocol) != napi_ok || protocol < 0 || protocol > 0xffff) {
    return throw_type(env, "protocol must be an integer 0..65535 (an EtherType, or 3 for ETH_P_ALL)");
  }
  if_info info;
  const char *syscall = "";
  int err = query_interface(name, &info, &syscall);
  if (err != 0) return throw_errno(env, err, syscall, name);

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket(AF_PACKET, SOCK_RAW)", name);
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) {
    err = errno;
    close(fd);
    return throw_errno(env, err, "setsockopt(PACKET_AUXDATA)", name);
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons((uint16_t)protocol);
  sll.sll_ifindex = info.index;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
    err = errno;
    close(fd);
    return throw_errno(env, err, "bind(AF_PACKET)", name);
  }
  /* A bigger receive queue than the default (~256 small frames): a burst must not be dropped while
   * the event loop is busy. FORCE passes net.core.rmem_max with CAP_NET_ADMIN; best effort. */
  int32_t rcvbuf = 0;
  if (argc >= 3 && napi_get_value_int32(env, argv[2], &rcvbuf) == napi_ok && rcvbuf > 0) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
  }
  size_t want = (size_t)(info.mtu > 0 ? info.mtu : 1500) + 64;
  if (want < MIN_RECV_BUFFER) want = MIN_RECV_BUFFER;
  if (want > MAX_RECV_BUFFER) want = MAX_RECV_BUFFER;
  if (s->buf_len < want) {
    unsigned char *b = realloc(s->buf, want);
    if (b == NULL) {
      close(fd);
      return throw_errno(env, ENOMEM, "realloc", name);
    }
    s->buf = b;
    s->buf_len = want;
  }
  s->fd = fd;
  s->received = 0;
  s->truncated = 0;
  s->dropped = 0;
  s->ifindex = info.index;
  s->protocol = protocol;
  memcpy(s->ifname, name, IF_NAMESIZE);
  return info_object(env, name, &info);
}

static napi_value js_add_unicast(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  packet_socket *s = unwrap_this(env, cbinfo, &argc, argv, NULL);
  if (s == NULL) return NULL;
  if (s->fd < 0) return throw_errno(env, EBADF, "addUnicast", s->ifname);
  char hex[16];
  size_t len = 0;
  unsigned char mac[6];
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], hex, sizeof hex, &len) != napi_ok || parse_hex12(hex, mac) != 0) {
    return throw_type(env, "addUnicast(mac) needs 12 hex characters");
  }
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = s->ifindex;
  mr.mr_type = PACKET_MR_UNICAST;
  mr.mr_alen = 6;
  memcpy(mr.mr_address, mac, 6);
  if (setsockopt(s->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
    return throw_errno(env, errno, "setsockopt(PACKET_ADD_MEMBERSHIP, PACKET_MR_UNICAST)", s->ifname);
  }
  return NULL;
}

static void report_error(poll_holder *p, int err, const char *syscall) {
  napi_env env = p->env;
  napi_value cb, global, result;
  if (p->on_error == NULL || napi_get_reference_value(env, p->on_error, &cb) != napi_ok || cb == NULL) return;
  napi_get_global(env, &global);
  napi_value error = make_errno_error(env, err, syscall, p->s != NULL ? p->s->ifname : NULL);
  if (napi_make_callback(env, p->ctx, global, cb, 1, &error, &result) == napi_pending_exception) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

/* Builds the JS Buffer for one received frame, putting a kernel-stripped VLAN tag back. */
static napi_value frame_buffer(napi_env env, const unsigned char *data, size_t len, const struct tpacket_auxdata *aux) {
  napi_value buffer = NULL;
  void *out = NULL;
  int tagged = aux != NULL && len >= 12 && ((aux->tp_status & TP_STATUS_VLAN_VALID) != 0 || aux->tp_vlan_tci != 0);
  if (!tagged) {
    if (napi_create_buffer_copy(env, len, data, &out, &buffer) != napi_ok) return NULL;
    return buffer;
  }
  if (napi_create_buffer(env, len + 4, &out, &buffer) != napi_ok) return NULL;
  unsigned char *o = (unsigned char *)out;
  uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? aux->tp_vlan_tpid : ETH_P_8021Q;
  memcpy(o, data, 12);
  o[12] = (unsigned char)(tpid >> 8);
  o[13] = (unsigned char)(tpid & 0xff);
  o[14] = (unsigned char)(aux->tp_vlan_tci >> 8);
  o[15] = (unsigned char)(aux->tp_vlan_tci & 0xff);
  memcpy(o + 16, data + 12, len - 12);
  return buffer;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  poll_holder *p = (poll_holder *)h->data;
  if (p == NULL || p->s == NULL) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (status < 0) {
    napi_open_handle_scope(env, &scope);
    report_error(p, -status, "uv_poll");
    napi_close_handle_scope(env, scope);
    return;
  }
  for (int i = 0; i < MAX_DRAIN && p->s != NULL && p->s->fd >= 0; i++) {
    packet_socket *s = p->s;
    struct sockaddr_ll from;
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } control;
    struct iovec iov = {.iov_base = s->buf, .iov_len = s->buf_len};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n = recvmsg(s->fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      int err = errno;
      napi_open_handle_scope(env, &scope);
      report_error(p, err, "recvmsg");
      napi_close_handle_scope(env, scope);
      break;
    }
    if ((size_t)n > s->buf_len || (msg.msg_flags & MSG_TRUNC) != 0) {
      s->truncated += 1;
      continue;
    }
    s->received += 1;
    const struct tpacket_auxdata *aux = NULL;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA && c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata))) {
        aux = (const struct tpacket_auxdata *)CMSG_DATA(c);
      }
    }
    napi_open_handle_scope(env, &scope);
    napi_value cb, global, result, argv[2];
    if (napi_get_reference_value(env, p->on_frame, &cb) == napi_ok && cb != NULL) {
      argv[0] = frame_buffer(env, s->buf, (size_t)n, aux);
      napi_create_int32(env, from.sll_pkttype, &argv[1]);
      napi_get_global(env, &global);
      if (argv[0] != NULL && napi_make_callback(env, p->ctx, global, cb, 2, argv, &result) == napi_pending_exception) {
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc);
        napi_fatal_exception(env, exc);
        napi_close_handle_scope(env, scope);
        break;
      }
    }
    napi_close_handle_scope(env, scope);
  }
}

/* start(onFrame, onError) */
static napi_value js_start(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 2;
  napi_value argv[2], this_arg;
  packet_socket *s = unwrap_this(env, cbinfo, &argc, argv, &this_arg);
  if (s == NULL) return NULL;
  napi_valuetype t0 = napi_undefined, t1 = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t0);
  if (argc >= 2) napi_typeof(env, argv[1], &t1);
  if (t0 != napi_function || t1 != napi_function) return throw_type(env, "start(onFrame, onError) needs two functions");
  if (s->fd < 0) return throw_errno(env, EBADF, "start", s->ifname);
  if (s->poll != NULL) return throw_errno(env, EALREADY, "start", s->ifname);
  uv_loop_t *loop = NULL;
  CHECK(napi_get_uv_event_loop(env, &loop));
  poll_holder *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, ENOMEM, "calloc", s->ifname);
  p->env = env;
  p->s = s;
  int rc = uv_poll_init(loop, &p->handle, s->fd);
  if (rc != 0) {
    free(p);
    return throw_errno(env, -rc, "uv_poll_init", s->ifname);
  }
  p->handle.data = p;
  napi_value resource_name;
  napi_create_string_utf8(env, "msgin5g:PacketSocket", NAPI_AUTO_LENGTH, &resource_name);
  if (napi_async_init(env, this_arg, resource_name, &p->ctx) != napi_ok ||
      napi_create_reference(env, this_arg, 1, &p->self) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &p->on_frame) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &p->on_error) != napi_ok) {
    uv_close((uv_handle_t *)&p->handle, holder_close_cb);
    return throw_type(env, "cannot keep the PacketSocket callbacks");
  }
  rc = uv_poll_start(&p->handle, UV_READABLE, on_poll);
  if (rc != 0) {
    uv_close((uv_handle_t *)&p->handle, holder_close_cb);
    return throw_errno(env, -rc, "uv_poll_start", s->ifname);
  }
  s->poll = p;
  if (!s->hook_registered && napi_add_env_cleanup_hook(env, on_env_cleanup, s) == napi_ok) s->hook_registered = 1;
  return NULL;
}

/* send(frame): one sendto; the EtherType at octets 12..13 becomes sll_protocol. */
static napi_value js_send(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 1;
  napi_value argv[1];
  packet_socket *s = unwrap_this(env, cbinfo, &argc, argv, NULL);
  if (s == NULL) return NULL;
  if (argc < 1) return throw_type(env, "send(frame) needs a Uint8Array");
  bool is_typed = false;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) return throw_type(env, "send(frame) needs a Uint8Array");
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  if (type != napi_uint8_array) return throw_type(env, "send(frame) needs a Uint8Array");
  if (s->fd < 0) return throw_errno(env, EBADF, "sendto", s->ifname);
  const unsigned char *frame = (const unsigned char *)data;
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_ifindex = s->ifindex;
  to.sll_halen = ETH_ALEN;
  if (length >= 14) {
    memcpy(to.sll_addr, frame, 6);
    to.sll_protocol = htons((uint16_t)((frame[12] << 8) | frame[13]));
  } else {
    to.sll_protocol = htons((uint16_t)s->protocol);
  }
  ssize_t n;
  do {
    n = sendto(s->fd, frame, length, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return throw_errno(env, errno, "sendto", s->ifname);
  napi_value result;
  CHECK(napi_create_int64(env, (int64_t)n, &result));
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 0;
  packet_socket *s = unwrap_this(env, cbinfo, &argc, NULL, NULL);
  if (s == NULL) return NULL;
  socket_close(s);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 0;
  packet_socket *s = unwrap_this(env, cbinfo, &argc, NULL, NULL);
  if (s == NULL) return NULL;
  int rcvbuf = 0;
  if (s->fd >= 0) {
    /* PACKET_STATISTICS returns and resets the kernel's counters: accumulate the drops. */
    struct tpacket_stats st;
    socklen_t len = sizeof st;
    if (getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) s->dropped += st.tp_drops;
    len = sizeof rcvbuf;
    getsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len);
  }
  napi_value obj, v;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_double(env, s->received, &v));
  CHECK(napi_set_named_property(env, obj, "received", v));
  CHECK(napi_create_double(env, s->truncated, &v));
  CHECK(napi_set_named_property(env, obj, "truncated", v));
  CHECK(napi_create_double(env, s->dropped, &v));
  CHECK(napi_set_named_property(env, obj, "dropped", v));
  CHECK(napi_create_int32(env, rcvbuf, &v));
  CHECK(napi_set_named_property(env, obj, "receiveBufferOctets", v));
  return obj;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"addUnicast", NULL, js_add_unicast, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value cls, fn;
  CHECK(napi_define_class(env, "PacketSocket", NAPI_AUTO_LENGTH, js_constructor, NULL, sizeof methods / sizeof methods[0], methods, &cls));
  CHECK(napi_set_named_property(env, exports, "PacketSocket", cls));
  CHECK(napi_create_function(env, "interfaceInfo", NAPI_AUTO_LENGTH, js_interface_info, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "interfaceInfo", fn));
  return exports;
}
