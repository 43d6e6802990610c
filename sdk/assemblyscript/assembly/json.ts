// Just enough JSON to read the host's KV list answers: strings (with every
// escape), arrays and objects, skipping anything else.

export class JsonReader {
  private readonly text: string;
  private pos: i32 = 0;
  /** Set when the input is not the JSON the caller expected. */
  failed: bool = false;

  constructor(text: string) {
    this.text = text;
  }

  private peek(): i32 {
    this.skipSpace();
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return;
      this.pos++;
    }
  }

  /** Consumes `c` (after whitespace) when it is next. */
  eat(c: i32): bool {
    if (this.peek() != c) return false;
    this.pos++;
    return true;
  }

  expect(c: i32): void {
    if (!this.eat(c)) this.failed = true;
  }

  /** After `[` or `{` and before each element or member: whether another follows. */
  more(close: i32, first: bool): bool {
    if (this.failed) return false;
    if (this.eat(close)) return false;
    if (!first) this.expect(0x2c); // ,
    return !this.failed;
  }

  isString(): bool {
    return this.peek() == 0x22;
  }

  readString(): string {
    if (!this.eat(0x22)) {
      this.failed = true;
      return "";
    }
    let out = "";
    let start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c == 0x22) {
        out += this.text.substring(start, this.pos);
        this.pos++;
        return out;
      }
      if (c != 0x5c) {
        this.pos++;
        continue;
      }
      out += this.text.substring(start, this.pos);
      const e = this.pos + 1 < this.text.length ? this.text.charCodeAt(this.pos + 1) : -1;
      this.pos += 2;
      if (e == 0x75) {
        // \uXXXX: UTF-16 code units, so surrogate pairs come out right as they are.
        const unit = I32.parseInt(this.text.substr(this.pos, 4), 16);
        out += String.fromCharCode(unit);
        this.pos += 4;
      } else if (e == 0x6e) out += "\n";
      else if (e == 0x74) out += "\t";
      else if (e == 0x72) out += "\r";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else out += String.fromCharCode(e); // \" \\ \/
      start = this.pos;
    }
    this.failed = true;
    return out;
  }

  /** Skips one value of any kind. */
  skipValue(): void {
    const c = this.peek();
    if (c == 0x22) {
      this.readString();
    } else if (c == 0x5b || c == 0x7b) {
      const close = c == 0x5b ? 0x5d : 0x7d;
      this.pos++;
      for (let first = true; this.more(close, first); first = false) {
        if (close == 0x7d) {
          this.readString();
          this.expect(0x3a);
        }
        this.skipValue();
      }
    } else {
      // A number, true, false or null: up to the next delimiter.
      while (this.pos < this.text.length) {
        const d = this.text.charCodeAt(this.pos);
        if (d == 0x2c || d == 0x5d || d == 0x7d || d == 0x20 || d == 0x0a || d == 0x0d || d == 0x09) break;
        this.pos++;
      }
    }
  }
}
