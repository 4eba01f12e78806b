package apitoken

import (
	"encoding/binary"
	"hash/crc32"
)

// The checksum is the standard CRC-32 (IEEE) of the token body. The body is
// 63 bytes, one short of the length at which hash/crc32 switches to its
// carry-less-multiply code, so the library would run its byte-serial
// slicing-by-8 loop and then seven single-byte steps, each waiting on the
// last. Parse runs on every authorizer decision, so the body is summed here
// in two independent halves whose results are combined: the CRC is linear,
// so the state after A‖B is the state after A advanced over len(B) zero
// bytes, XOR the state B alone produces from zero. The result is identical
// to crc32.ChecksumIEEE (tested over random and edge-case bodies).

// crcTab[j][b] is the CRC state contributed by byte b followed by j zero
// bytes (the slicing-by-8 tables); crcShift[k][b] advances state byte k
// holding b over the second half's length in zero bytes, so joining the
// halves is four lookups. Both are constants in crc_tables.go, so no
// function computes them at cold start (they took a fifth of a millisecond
// of every init); TestCRCTables derives them again and rewrites the file
// with -update-crc-tables.

// bodyLen is the length of the checksummed part of a token.
const bodyLen = Len - ChecksumLen

// splitAt is where the body is cut into two chains: the first half is four
// 8-byte steps, the second three 8-byte steps and one 7-byte step.
const splitAt = 32

// crc8 feeds 8 bytes to the CRC state s.
func crc8(s uint32, p []byte) uint32 {
	_ = p[7]
	s ^= binary.LittleEndian.Uint32(p)
	return crcTab[0][p[7]] ^ crcTab[1][p[6]] ^ crcTab[2][p[5]] ^ crcTab[3][p[4]] ^
		crcTab[4][s>>24] ^ crcTab[5][s>>16&0xff] ^ crcTab[6][s>>8&0xff] ^ crcTab[7][s&0xff]
}

// crc7 feeds 7 bytes to the CRC state s.
func crc7(s uint32, p []byte) uint32 {
	_ = p[6]
	s ^= binary.LittleEndian.Uint32(p)
	return crcTab[0][p[6]] ^ crcTab[1][p[5]] ^ crcTab[2][p[4]] ^
		crcTab[3][s>>24] ^ crcTab[4][s>>16&0xff] ^ crcTab[5][s>>8&0xff] ^ crcTab[6][s&0xff]
}

// crcIEEE is crc32.ChecksumIEEE(p); bodies of a token's length take the
// two-chain path, anything else the library.
func crcIEEE(p []byte) uint32 {
	if len(p) != bodyLen {
		return crc32.ChecksumIEEE(p)
	}
	p = p[:bodyLen]
	a, b := ^uint32(0), uint32(0)
	// Interleaved so that the processor runs both chains at once.
	a = crc8(a, p[0:8])
	b = crc8(b, p[32:40])
	a = crc8(a, p[8:16])
	b = crc8(b, p[40:48])
	a = crc8(a, p[16:24])
	b = crc8(b, p[48:56])
	a = crc8(a, p[24:32])
	b = crc7(b, p[56:63])
	s := crcShift[0][a&0xff] ^ crcShift[1][a>>8&0xff] ^ crcShift[2][a>>16&0xff] ^ crcShift[3][a>>24] ^ b
	return ^s
}
