-- Wireshark / tshark dissector for the MSGin5G-5 "M5 binary" messages of msgin5g-gateway
-- (TS 24.538 Annex A.2 style; byte layout and provisional code points: docs/wire-formats.md §2).
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

local M5_PORT = 5690
local M5_ETHERTYPE = 0x88b5

local TYPES = {
  [0x01] = "MESSAGE SENDING REQUEST",
  [0x02] = "DELIVERY REPORT SENDING REQUEST",
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
  [0xff] = "UNSPECIFIED",
}

local RESULTS = { [0x00] = "SUCCESS", [0x01] = "FAILURE" }

local IEI_REGISTRATION_ID = 0x21
local IEI_FAILURE_REASON = 0x22
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

-- Walks the optional part (TS 24.007 §11.2 rules as in docs/wire-formats.md §2). With `response`, the
-- Application ID, Registration ID and Failure reason IEs are read (a duplicate is an error); with
-- `lifetime`, the Registration lifetime (length 4, value 1..2^32-1); every other IE is shown and
-- skipped. Returns a table of what was read, or nil and an error.
local function optional_part(tvb, tree, offset, response, lifetime)
  local n = tvb:len()
  local got = {}
  local i = offset
  while i < n do
    local iei = tvb(i, 1):uint()
    if bit32.band(iei, 0xf0) == 0xa0 then
      if i + 3 > n then
        return nil, string.format("Application ID IE (0x%02x, TV 3 octets) at offset %d runs past the end", iei, i)
      end
      if response then
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
      local ie = tree:add(tvb(i, 1), string.format("Type-1 IE 0x%02x (skipped)", iei))
      ie:add(f.iei, tvb(i, 1))
      i = i + 1
    else
      if i + 2 > n then return nil, string.format("IE 0x%02x at offset %d has no length octet", iei, i) end
      local len = tvb(i + 1, 1):uint()
      if i + 2 + len > n then
        return nil, string.format("IE 0x%02x at offset %d: length %d runs past the end (%d octets left)", iei, i, len, n - i - 2)
      end
      if response and iei == IEI_REGISTRATION_ID then
        if got.reg_id ~= nil then return nil, string.format("duplicate Registration ID IE at offset %d", i) end
        if len < 1 or len > 16 then return nil, string.format("Registration ID must be 1..16 octets, got %d", len) end
        got.reg_id = hex(tvb, i + 2, len)
        local ie = tree:add(tvb(i, 2 + len), "Registration ID IE")
        ie:add(f.iei, tvb(i, 1))
        ie:add(f.reg_id_len, tvb(i + 1, 1))
        ie:add(f.reg_id, tvb(i + 2, len))
      elseif response and iei == IEI_FAILURE_REASON then
        if got.reason ~= nil then return nil, string.format("duplicate Failure reason IE at offset %d", i) end
        if len ~= 1 then return nil, string.format("Failure reason IE must have length 1, got %d", len) end
        got.reason = tvb(i + 2, 1):uint()
        local ie = tree:add(tvb(i, 3), "Failure reason IE")
        ie:add(f.iei, tvb(i, 1))
        ie:add(f.ie_len, tvb(i + 1, 1))
        ie:add(f.failure_reason, tvb(i + 2, 1))
      elseif lifetime and iei == IEI_REGISTRATION_LIFETIME then
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
  if to_gateway and (mt == 0x11 or mt == 0x13 or mt == 0x1f) then
    tree:add_proto_expert_info(ef_direction, name .. " sent to the gateway (the gateway answers STATUS)")
  end

  if mt == 0x10 then
    if n < 3 then return malformed(name, string.format("Application ID needs 2 octets, got %d", n - 1)) end
    tree:add(f.app_id, tvb(1, 2))
    local got, err = optional_part(tvb, tree, 3, false, true)
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
    local _, err = optional_part(tvb, tree, 2 + len, false)
    if err then return malformed(name, err) end
    return string.format("%s, Registration ID %s", name, hex(tvb, 2, len))
  elseif mt == 0x11 or mt == 0x13 then
    if n < 2 then return malformed(name, "Result octet missing") end
    local result = tvb(1, 1):uint()
    tree:add(f.result, tvb(1, 1))
    local got, err = optional_part(tvb, tree, 2, true, mt == 0x11)
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
    local _, err = optional_part(tvb, tree, 3, false)
    if err then return malformed(name, err) end
    return string.format("%s, %s, offending type 0x%02x", name, reason_name(tvb(1, 1):uint()), tvb(2, 1):uint())
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
