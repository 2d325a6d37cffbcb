-- Wireshark / tshark dissector for the MSGin5G-5 "M5 binary" messages of msgin5g-gateway
-- (TS 24.538 Annex A.2 style; byte layout and provisional code points: docs/wire-formats.md §2 and §5).
--
--   UDP port 5690 (docs/wire-formats.md §3.2): one M5 message per datagram, no length prefix.
--   EtherType 0x88B5 (docs/wire-formats.md §3.1): a 2-octet length N, the N-octet M5 message, then padding.
--     802.1Q-tagged frames work too (the VLAN dissector hands the inner EtherType to the same table).
--
-- Shows the Message type, Result, Application ID, Registration ID, Failure reason (by name),
-- Registration lifetime (IE 0x24, seconds; in REGISTRATION REQUEST and RESPONSE),
-- STATUS fields, and flags what the gateway would reject with expert info:
--   msgin5g.malformed        (Malformed/Error)  the message does not decode (gateway answers MALFORMED_REQUEST)
--   msgin5g.unknown_type     (Undecoded/Warn)   a type this version does not decode (gateway answers STATUS)
--   msgin5g.wrong_direction  (Protocol/Warn)    a type only the gateway sends, sent to UDP port 5690
--   msgin5g_l2.malformed     (Malformed/Error)  the L2 length field runs past the frame
-- The decoding rules mirror packages/protocol/src/m5-decoder.ts; the test in tools/wireshark/test
-- checks this file against packages/protocol/test/fixtures/m5-vectors.json.
--
-- Load:  wireshark -X lua_script:tools/wireshark/msgin5g-m5.lua
--        tshark -X lua_script:tools/wireshark/msgin5g-m5.lua -r capture.pcap -O msgin5g -V
--   or copy it into the personal Lua plugins folder (Help > About Wireshark > Folders).
-- Ports and EtherType are preferences (Edit > Preferences > Protocols > MSGIN5G).
-- Filter examples: msgin5g, msgin5g.type == 0x12, msgin5g.failure_reason == 0x04, msgin5g.malformed
--
-- The CoAP bodies (the CoAP device link's REG / DEREG / MSG / IMDN / MSGRESP, MSGin5G-1; docs/wire-formats.md
-- §3.3, §4, §5.3-§5.4) need no dissector here: Wireshark's CoAP dissector hands Content-Format 50 to its
-- JSON dissector, member by member (payloads stay base64). It takes only UDP 5683 as CoAP by default;
-- 5684 is the CoAPS (DTLS) port, so name the gateway's CoAP ports: Decode As... CoAP, or in tshark
--   tshark -r capture.pcap -d udp.port==5684,coap -d udp.port==5700,coap -O coap,json -V

local M5_PORT = 5690
local M5_ETHERTYPE = 0x88b5

local TYPES = {
  [0x01] = "MESSAGE SENDING REQUEST",
  [0x02] = "DELIVERY REPORT SENDING REQUEST",
  [0x03] = "MESSAGE SENDING RESPONSE",
  [0x04] = "MESSAGE RECEIVING",
  [0x05] = "MESSAGE RECEIVING ACK",
  [0x06] = "DELIVERY REPORT RECEIVING",
  [0x10] = "REGISTRATION REQUEST",
  [0x11] = "REGISTRATION RESPONSE",
  [0x12] = "DE-REGISTRATION REQUEST",
  [0x13] = "DE-REGISTRATION RESPONSE",
  [0x1f] = "STATUS",
}

local REASONS = {
  [0x01] = "UNKNOWN_REGISTRATION_ID",
  [0x02] = "NOT_AUTHORISED",
  [0x03] = "SERVER_REJECTED",
  [0x04] = "SERVER_UNREACHABLE",
  [0x05] = "MALFORMED_REQUEST",
  [0x06] = "GATEWAY_NOT_REGISTERED",
  [0x07] = "CONGESTION",
  [0x08] = "APPLICATION_ID_IN_USE",
  [0x09] = "MESSAGE_TYPE_NOT_SUPPORTED",
  [0x0a] = "DEVICE_NOT_REGISTERED",
  [0x0b] = "APPLICATION_ID_REQUIRED",
  [0x0c] = "PAYLOAD_TOO_LARGE",
  [0x0d] = "RECIPIENT_UNKNOWN",
  [0x0e] = "NOT_DELIVERED",
  [0xff] = "UNSPECIFIED",
}

local RESULTS = { [0x00] = "SUCCESS", [0x01] = "FAILURE" }
local MESSAGE_RESULTS = { [0x00] = "ACCEPTED", [0x01] = "FAILURE" }
local DELIVERY_STATUSES = { [0x00] = "DELIVERED", [0x01] = "FAILED", [0x02] = "STORED" }
local ADDRESS_TYPES = { [0x0] = "UE", [0x1] = "AS", [0x2] = "GROUP" }
local DSR = { [0x0] = "not required", [0x1] = "required" }

local IEI_REGISTRATION_ID = 0x21
local IEI_FAILURE_REASON = 0x22
local IEI_DELIVERY_STATUS = 0x23
local IEI_DSR_NIBBLE = 0xb0
local IEI_TARGET_TYPE_NIBBLE = 0xd0

-- Message types only the gateway sends (docs/wire-formats.md §2, §5.2).
local GATEWAY_ONLY = { [0x11] = true, [0x13] = true, [0x1f] = true, [0x03] = true, [0x04] = true, [0x06] = true }
local IEI_REGISTRATION_LIFETIME = 0x24

local m5 = Proto("msgin5g", "MSGin5G-5 M5 binary (msgin5g-gateway, provisional)")
local f = m5.fields
f.type = ProtoField.uint8("msgin5g.type", "Message type", base.HEX, TYPES)
f.result = ProtoField.uint8("msgin5g.result", "Result", base.HEX, RESULTS)
f.app_id = ProtoField.uint16("msgin5g.app_id", "Application ID", base.DEC)
f.reg_id_len = ProtoField.uint8("msgin5g.reg_id_len", "Registration ID length", base.DEC)
f.reg_id = ProtoField.bytes("msgin5g.reg_id", "Registration ID")
f.failure_reason = ProtoField.uint8("msgin5g.failure_reason", "Failure reason", base.HEX, REASONS)
f.offending_type = ProtoField.uint8("msgin5g.offending_type", "Offending message type", base.HEX, TYPES)
f.iei = ProtoField.uint8("msgin5g.iei", "IEI", base.HEX)
f.ie_len = ProtoField.uint8("msgin5g.ie_len", "Length", base.DEC)
f.ie_value = ProtoField.bytes("msgin5g.ie_value", "Value (skipped)")
-- docs/wire-formats.md §5.1
f.address_len = ProtoField.uint8("msgin5g.address_len", "Address length", base.DEC)
f.address = ProtoField.string("msgin5g.address", "Address (UE or AS Service ID)")
f.msg_id = ProtoField.bytes("msgin5g.msg_id", "Message ID")
f.payload_len = ProtoField.uint16("msgin5g.payload_len", "Payload length", base.DEC)
f.payload = ProtoField.bytes("msgin5g.payload", "Payload")
f.delivery_status = ProtoField.uint8("msgin5g.delivery_status", "Delivery status", base.HEX, DELIVERY_STATUSES)
f.message_result = ProtoField.uint8("msgin5g.message_result", "Result", base.HEX, MESSAGE_RESULTS)
f.dsr = ProtoField.uint8("msgin5g.dsr", "Delivery status required", base.HEX, DSR, 0x0f)
f.target_type = ProtoField.uint8("msgin5g.target_type", "Target / originator type", base.HEX, ADDRESS_TYPES, 0x0f)
f.lifetime = ProtoField.uint32("msgin5g.lifetime", "Registration lifetime (s)", base.DEC)

local ef_malformed = ProtoExpert.new("msgin5g.malformed", "Malformed M5 message", expert.group.MALFORMED, expert.severity.ERROR)
local ef_unknown = ProtoExpert.new("msgin5g.unknown_type", "M5 message type not decoded by this version", expert.group.UNDECODED, expert.severity.WARN)
local ef_direction = ProtoExpert.new("msgin5g.wrong_direction", "Only the gateway sends this M5 message type", expert.group.PROTOCOL, expert.severity.WARN)
m5.experts = { ef_malformed, ef_unknown, ef_direction }

m5.prefs.udp_port = Pref.uint("UDP port", M5_PORT, "UDP port of the gateway's M5 device link (docs/wire-formats.md §3.2)")
m5.prefs.ethertype = Pref.uint("EtherType", M5_ETHERTYPE, "EtherType of M5 frames on the L2 device link (docs/wire-formats.md §3.1)")

local l2 = Proto("msgin5g_l2", "MSGin5G-5 L2 framing (msgin5g-gateway)")
l2.fields.length = ProtoField.uint16("msgin5g_l2.length", "M5 message length", base.DEC)
l2.fields.padding = ProtoField.bytes("msgin5g_l2.padding", "Padding")
local ef_l2_malformed = ProtoExpert.new("msgin5g_l2.malformed", "Malformed M5 L2 payload", expert.group.MALFORMED, expert.severity.ERROR)
l2.experts = { ef_l2_malformed }

local function hex(tvb, offset, len)
  return tostring(tvb:bytes(offset, len)):lower()
end

-- The IEs a message reads (docs/wire-formats.md §2, §5.2); the others are shown and skipped.
local NONE = {}
local RESPONSE_IES = { app = true, reg_id = true, reason = true }
local REG_REQUEST_IES = { lifetime = true }
local REG_RESPONSE_IES = { app = true, reg_id = true, reason = true, lifetime = true }

-- Walks the optional part (TS 24.007 §11.2 rules as in docs/wire-formats.md §2). The IEs named in
-- `want` (app, reg_id, reason, lifetime (length 4, value 1..2^32-1), dsr, target, delivery) are read
-- (a duplicate is an error); every other IE is shown and skipped. Returns a table of what was read,
-- or nil and an error.
local function optional_part(tvb, tree, offset, want)
  local n = tvb:len()
  local got = {}
  local i = offset
  while i < n do
    local iei = tvb(i, 1):uint()
    if bit32.band(iei, 0xf0) == 0xa0 then
      if i + 3 > n then
        return nil, string.format("Application ID IE (0x%02x, TV 3 octets) at offset %d runs past the end", iei, i)
      end
      if want.app then
        if got.app_id ~= nil then return nil, string.format("duplicate Application ID IE at offset %d", i) end
        got.app_id = tvb(i + 1, 2):uint()
        local ie = tree:add(tvb(i, 3), "Application ID IE")
        ie:add(f.iei, tvb(i, 1))
        ie:add(f.app_id, tvb(i + 1, 2))
      else
        local ie = tree:add(tvb(i, 3), string.format("IE 0x%02x (Application ID, not expected here: skipped)", iei))
        ie:add(f.iei, tvb(i, 1))
        ie:add(f.ie_value, tvb(i + 1, 2))
      end
      i = i + 3
    elseif bit32.band(iei, 0x80) ~= 0 then
      local nibble, value = bit32.band(iei, 0xf0), bit32.band(iei, 0x0f)
      if want.dsr and nibble == IEI_DSR_NIBBLE then
        if got.dsr ~= nil then return nil, string.format("duplicate Delivery status required IE at offset %d", i) end
        if value > 1 then return nil, string.format("Delivery status required value %d is neither 0 nor 1", value) end
        got.dsr = value
        tree:add(f.dsr, tvb(i, 1))
      elseif want.target and nibble == IEI_TARGET_TYPE_NIBBLE then
        if got.target ~= nil then return nil, string.format("duplicate Target type IE at offset %d", i) end
        if value > 2 then return nil, string.format("Target type value %d is not 0 (UE), 1 (AS) or 2 (group)", value) end
        got.target = value
        tree:add(f.target_type, tvb(i, 1))
      else
        local ie = tree:add(tvb(i, 1), string.format("Type-1 IE 0x%02x (skipped)", iei))
        ie:add(f.iei, tvb(i, 1))
      end
      i = i + 1
    else
      if i + 2 > n then return nil, string.format("IE 0x%02x at offset %d has no length octet", iei, i) end
      local len = tvb(i + 1, 1):uint()
      if i + 2 + len > n then
        return nil, string.format("IE 0x%02x at offset %d: length %d runs past the end (%d octets left)", iei, i, len, n - i - 2)
      end
      if want.reg_id and iei == IEI_REGISTRATION_ID then
        if got.reg_id ~= nil then return nil, string.format("duplicate Registration ID IE at offset %d", i) end
        if len < 1 or len > 16 then return nil, string.format("Registration ID must be 1..16 octets, got %d", len) end
        got.reg_id = hex(tvb, i + 2, len)
        local ie = tree:add(tvb(i, 2 + len), "Registration ID IE")
        ie:add(f.iei, tvb(i, 1))
        ie:add(f.reg_id_len, tvb(i + 1, 1))
        ie:add(f.reg_id, tvb(i + 2, len))
      elseif want.reason and iei == IEI_FAILURE_REASON then
        if got.reason ~= nil then return nil, string.format("duplicate Failure reason IE at offset %d", i) end
        if len ~= 1 then return nil, string.format("Failure reason IE must have length 1, got %d", len) end
        got.reason = tvb(i + 2, 1):uint()
        local ie = tree:add(tvb(i, 3), "Failure reason IE")
        ie:add(f.iei, tvb(i, 1))
        ie:add(f.ie_len, tvb(i + 1, 1))
        ie:add(f.failure_reason, tvb(i + 2, 1))
      elseif want.delivery and iei == IEI_DELIVERY_STATUS then
        if got.delivery ~= nil then return nil, string.format("duplicate Delivery status IE at offset %d", i) end
        if len ~= 1 then return nil, string.format("Delivery status IE must have length 1, got %d", len) end
        got.delivery = tvb(i + 2, 1):uint()
        local ie = tree:add(tvb(i, 3), "Delivery status IE")
        ie:add(f.iei, tvb(i, 1))
        ie:add(f.ie_len, tvb(i + 1, 1))
        ie:add(f.delivery_status, tvb(i + 2, 1))
      elseif want.lifetime and iei == IEI_REGISTRATION_LIFETIME then
        if got.lifetime ~= nil then return nil, string.format("duplicate Registration lifetime IE at offset %d", i) end
        if len ~= 4 then return nil, string.format("Registration lifetime IE must have length 4, got %d", len) end
        got.lifetime = tvb(i + 2, 4):uint()
        if got.lifetime < 1 then return nil, "Registration lifetime must be 1..4294967295 s, got 0" end
        local ie = tree:add(tvb(i, 6), "Registration lifetime IE")
        ie:add(f.iei, tvb(i, 1))
        ie:add(f.ie_len, tvb(i + 1, 1))
        ie:add(f.lifetime, tvb(i + 2, 4))
      else
        local ie = tree:add(tvb(i, 2 + len), string.format("IE 0x%02x (skipped)", iei))
        ie:add(f.iei, tvb(i, 1))
        ie:add(f.ie_len, tvb(i + 1, 1))
        if len > 0 then ie:add(f.ie_value, tvb(i + 2, len)) end
      end
      i = i + 2 + len
    end
  end
  return got
end

local function reason_name(code)
  return REASONS[code] or string.format("UNSPECIFIED (unknown code 0x%02x)", code)
end

-- Whether octets [offset, offset+len) of `tvb` are well-formed UTF-8 (no overlong forms, no
-- surrogates, nothing above U+10FFFF), as TextDecoder's fatal mode reads them in m5-delivery.ts.
local function valid_utf8(tvb, offset, len)
  local i, stop = offset, offset + len
  while i < stop do
    local c = tvb(i, 1):uint()
    local extra, min
    if c < 0x80 then extra, min = 0, 0
    elseif c >= 0xc2 and c <= 0xdf then extra, min = 1, 0x80
    elseif c >= 0xe0 and c <= 0xef then extra, min = 2, 0x800
    elseif c >= 0xf0 and c <= 0xf4 then extra, min = 3, 0x10000
    else return false end
    if i + extra >= stop then return false end -- a sequence cut by the end
    local cp = extra == 0 and c or bit32.band(c, bit32.rshift(0x7f, extra + 1))
    for k = 1, extra do
      local cc = tvb(i + k, 1):uint()
      if bit32.band(cc, 0xc0) ~= 0x80 then return false end
      cp = cp * 64 + bit32.band(cc, 0x3f)
    end
    if cp < min or cp > 0x10ffff or (cp >= 0xd800 and cp <= 0xdfff) then return false end
    i = i + 1 + extra
  end
  return true
end

-- The message-delivery messages 0x01..0x06 (docs/wire-formats.md §5.2), mirroring
-- packages/protocol/src/m5-delivery.ts. Returns true and the Info text, or false and an error.
local function dissect_delivery(tvb, tree, mt, name)
  local n = tvb:len()
  local i = 1
  local info = name
  local function address(what)
    if i >= n then return nil, what .. " length octet missing" end
    local len = tvb(i, 1):uint()
    tree:add(f.address_len, tvb(i, 1))
    if len < 5 then return nil, string.format("%s must be 5..255 octets, got %d", what, len) end
    if i + 1 + len > n then return nil, string.format("%s of %d octets runs past the end (%d left)", what, len, n - i - 1) end
    if not valid_utf8(tvb, i + 1, len) then return nil, what .. " is not UTF-8" end
    tree:add(f.address, tvb(i + 1, len))
    local text = tvb(i + 1, len):string()
    i = i + 1 + len
    return text
  end
  local function message_id()
    if i + 16 > n then return nil, string.format("Message ID needs 16 octets, got %d", n - i) end
    tree:add(f.msg_id, tvb(i, 16))
    local id = hex(tvb, i, 16)
    i = i + 16
    return id
  end
  local function payload()
    if i + 2 > n then return nil, "Payload length (2 octets) missing" end
    local len = tvb(i, 2):uint()
    tree:add(f.payload_len, tvb(i, 2))
    if len < 1 then return nil, "Payload must be 1..65535 octets, got 0" end
    if i + 2 + len > n then return nil, string.format("Payload of %d octets runs past the end (%d left)", len, n - i - 2) end
    tree:add(f.payload, tvb(i + 2, len))
    i = i + 2 + len
    return len
  end
  local function status()
    if i >= n then return nil, "Delivery status octet missing" end
    local v = tvb(i, 1):uint()
    if v > 2 then return nil, string.format("Delivery status 0x%02x is not 0x00 (delivered), 0x01 (failed) or 0x02 (stored)", v) end
    tree:add(f.delivery_status, tvb(i, 1))
    i = i + 1
    return DELIVERY_STATUSES[v]
  end
  local err, addr, id, st
  if mt == 0x01 or mt == 0x02 or mt == 0x04 or mt == 0x06 then
    addr, err = address((mt == 0x01 or mt == 0x02) and "Target address" or "Originator address")
    if addr == nil then return false, err end
    info = info .. ((mt == 0x01 or mt == 0x02) and ", to " or ", from ") .. addr
  end
  id, err = message_id()
  if id == nil then return false, err end
  info = info .. ", Message ID " .. id
  local want
  if mt == 0x01 or mt == 0x04 then
    local len
    len, err = payload()
    if len == nil then return false, err end
    info = info .. string.format(", %d octets", len)
    want = { app = true, dsr = true, target = true }
  elseif mt == 0x02 or mt == 0x06 then
    st, err = status()
    if st == nil then return false, err end
    info = info .. ", " .. st
    want = { app = true, reason = true }
  elseif mt == 0x03 then
    if i >= n then return false, "Result octet missing" end
    local result = tvb(i, 1):uint()
    tree:add(f.message_result, tvb(i, 1))
    i = i + 1
    local got, e = optional_part(tvb, tree, i, { app = true, reason = true, delivery = true })
    if got == nil then return false, e end
    local app = got.app_id and string.format(", Application ID %d", got.app_id) or ""
    if result == 0x00 then
      if got.reason ~= nil then return false, "an accepted response carries a Failure reason IE" end
      if got.delivery ~= nil and got.delivery ~= 0 and got.delivery ~= 2 then
        if got.delivery == 1 then return false, "an accepted response carries Delivery status failed" end
        return false, string.format("Delivery status 0x%02x is not 0x00 (delivered), 0x01 (failed) or 0x02 (stored)", got.delivery)
      end
      local said = got.delivery ~= nil and (", " .. DELIVERY_STATUSES[got.delivery]) or ""
      return true, string.format("%s, ACCEPTED%s%s", info, app, said)
    elseif result == 0x01 then
      if got.reason == nil then return false, "a failure response lacks the Failure reason IE" end
      if got.delivery ~= nil then return false, "a failure response carries a Delivery status IE" end
      return true, string.format("%s, FAILURE%s, %s", info, app, reason_name(got.reason))
    end
    return false, string.format("Result 0x%02x is neither 0x00 (accepted) nor 0x01 (failure)", result)
  else -- 0x05
    want = { app = true }
  end
  local got, e = optional_part(tvb, tree, i, want)
  if got == nil then return false, e end
  if got.app_id then info = info .. string.format(", Application ID %d", got.app_id) end
  if got.reason then info = info .. ", " .. reason_name(got.reason) end
  if got.dsr == 1 then info = info .. ", report wanted" end
  if got.target and got.target ~= 0 then info = info .. ", " .. ADDRESS_TYPES[got.target] end
  return true, info
end

-- Decodes one M5 message in `tvb` under `root`. `to_gateway` is true when the unit was sent to the
-- gateway (UDP destination port), nil when the direction is unknown (L2). Returns the Info text.
local function dissect_m5(tvb, pinfo, root, to_gateway)
  local n = tvb:len()
  local tree = root:add(m5, tvb(), "MSGin5G-5 M5 binary")
  local function malformed(name, text)
    tree:add_proto_expert_info(ef_malformed, text)
    tree:append_text(" [malformed]")
    return string.format("%s [Malformed: %s]", name, text)
  end
  if n == 0 then return malformed("(empty)", "empty message: no Message Type") end
  local mt = tvb(0, 1):uint()
  tree:add(f.type, tvb(0, 1))
  local name = TYPES[mt] or string.format("Unknown type 0x%02x", mt)
  tree:append_text(", " .. name)
  if to_gateway and GATEWAY_ONLY[mt] then
    tree:add_proto_expert_info(ef_direction, name .. " sent to the gateway (the gateway answers STATUS)")
  end

  if mt == 0x10 then
    if n < 3 then return malformed(name, string.format("Application ID needs 2 octets, got %d", n - 1)) end
    tree:add(f.app_id, tvb(1, 2))
    local got, err = optional_part(tvb, tree, 3, REG_REQUEST_IES)
    if err then return malformed(name, err) end
    local asked = got.lifetime and string.format(", lifetime %d s", got.lifetime) or ""
    return string.format("%s, Application ID %d%s", name, tvb(1, 2):uint(), asked)
  elseif mt == 0x12 then
    if n < 2 then return malformed(name, "Registration ID length octet missing") end
    local len = tvb(1, 1):uint()
    tree:add(f.reg_id_len, tvb(1, 1))
    if len < 1 or len > 16 then return malformed(name, string.format("Registration ID must be 1..16 octets, got %d", len)) end
    if 2 + len > n then return malformed(name, string.format("Registration ID of %d octets runs past the end (%d left)", len, n - 2)) end
    tree:add(f.reg_id, tvb(2, len))
    local _, err = optional_part(tvb, tree, 2 + len, NONE)
    if err then return malformed(name, err) end
    return string.format("%s, Registration ID %s", name, hex(tvb, 2, len))
  elseif mt == 0x11 or mt == 0x13 then
    if n < 2 then return malformed(name, "Result octet missing") end
    local result = tvb(1, 1):uint()
    tree:add(f.result, tvb(1, 1))
    local got, err = optional_part(tvb, tree, 2, mt == 0x11 and REG_RESPONSE_IES or RESPONSE_IES)
    if err then return malformed(name, err) end
    local app = got.app_id and string.format(", Application ID %d", got.app_id) or ""
    if result == 0x00 then
      if got.reason ~= nil then return malformed(name, "a SUCCESS response carries a Failure reason IE") end
      if got.reg_id == nil then return malformed(name, "a SUCCESS response lacks the Registration ID IE") end
      local granted = got.lifetime and string.format(", lifetime %d s", got.lifetime) or ""
      return string.format("%s, SUCCESS%s, Registration ID %s%s", name, app, got.reg_id, granted)
    elseif result == 0x01 then
      if got.reg_id ~= nil then return malformed(name, "a FAILURE response carries a Registration ID IE") end
      if got.lifetime ~= nil then return malformed(name, "a FAILURE response carries a Registration lifetime IE") end
      if got.reason == nil then return malformed(name, "a FAILURE response lacks the Failure reason IE") end
      return string.format("%s, FAILURE%s, %s", name, app, reason_name(got.reason))
    end
    return malformed(name, string.format("Result 0x%02x is neither 0x00 (success) nor 0x01 (failure)", result))
  elseif mt == 0x1f then
    if n < 3 then return malformed(name, string.format("Failure reason and offending message type need 2 octets, got %d", n - 1)) end
    tree:add(f.failure_reason, tvb(1, 1))
    tree:add(f.offending_type, tvb(2, 1))
    local _, err = optional_part(tvb, tree, 3, NONE)
    if err then return malformed(name, err) end
    return string.format("%s, %s, offending type 0x%02x", name, reason_name(tvb(1, 1):uint()), tvb(2, 1):uint())
  end
  if mt >= 0x01 and mt <= 0x06 then
    local ok, info = dissect_delivery(tvb, tree, mt, name)
    if not ok then return malformed(name, info) end
    return info
  end
  tree:add_proto_expert_info(ef_unknown, name .. ": not decoded (the gateway answers STATUS MESSAGE_TYPE_NOT_SUPPORTED)")
  return name
end

function m5.dissector(tvb, pinfo, tree)
  pinfo.cols.protocol = "MSGin5G-5"
  local to_gateway = pinfo.dst_port == m5.prefs.udp_port
  pinfo.cols.info = dissect_m5(tvb, pinfo, tree, to_gateway)
  return tvb:len()
end

function l2.dissector(tvb, pinfo, tree)
  pinfo.cols.protocol = "MSGin5G-5"
  local n = tvb:len()
  local t = tree:add(l2, tvb(), "MSGin5G-5 L2 framing")
  if n < 2 then
    t:add_proto_expert_info(ef_l2_malformed, string.format("%d octets: no room for the 2-octet length", n))
    pinfo.cols.info = "[Malformed L2 payload]"
    return n
  end
  local len = tvb(0, 2):uint()
  t:add(l2.fields.length, tvb(0, 2))
  if 2 + len > n then
    t:add_proto_expert_info(ef_l2_malformed, string.format("length %d runs past the frame (%d octets after the length field)", len, n - 2))
    pinfo.cols.info = "[Malformed L2 payload]"
    return n
  end
  if 2 + len < n then t:add(l2.fields.padding, tvb(2 + len, n - 2 - len)) end
  if len == 0 then
    pinfo.cols.info = dissect_m5(ByteArray.new():tvb("empty M5 message"), pinfo, tree, nil)
  else
    pinfo.cols.info = dissect_m5(tvb(2, len):tvb(), pinfo, tree, nil)
  end
  return n
end

-- The UDP dissector hands no empty payload to a port's dissector, so an empty datagram to or from
-- the M5 port (which the gateway drops, docs/wire-formats.md §2) is flagged by a postdissector instead.
local udp_length_f = Field.new("udp.length")
local udp_srcport_f = Field.new("udp.srcport")
local udp_dstport_f = Field.new("udp.dstport")
local empty = Proto("msgin5g_empty", "MSGin5G-5 empty datagram check")
function empty.dissector(tvb, pinfo, tree)
  local length = udp_length_f()
  if length == nil or length.value ~= 8 then return end
  local src, dst = udp_srcport_f(), udp_dstport_f()
  local port = m5.prefs.udp_port
  if (src == nil or src.value ~= port) and (dst == nil or dst.value ~= port) then return end
  local t = tree:add(m5, "MSGin5G-5 M5 binary (empty datagram)")
  t:add_proto_expert_info(ef_malformed, "empty message: no Message Type (the gateway drops it)")
  pinfo.cols.protocol = "MSGin5G-5"
  pinfo.cols.info = "(empty) [Malformed: empty message: no Message Type]"
end
register_postdissector(empty)

local registered_port, registered_ethertype
local function register()
  local udp = DissectorTable.get("udp.port")
  local ethertype = DissectorTable.get("ethertype")
  if registered_port then udp:remove(registered_port, m5) end
  if registered_ethertype then ethertype:remove(registered_ethertype, l2) end
  registered_port = m5.prefs.udp_port
  registered_ethertype = m5.prefs.ethertype
  udp:add(registered_port, m5)
  ethertype:add(registered_ethertype, l2)
end

function m5.prefs_changed()
  register()
end

register()
