-- A small shop, as a migration would leave it: fill it with
--   synthgen fixtures --schema recipes/fixtures-shop/schema.sql --rows 200 --rows order_item=3000 \
--       --overrides recipes/fixtures-shop/overrides.yaml --to sqlite:///shop_test.db --seed 7
CREATE TABLE category (
  id INTEGER PRIMARY KEY,
  name VARCHAR(40) NOT NULL UNIQUE,
  parent_id INTEGER REFERENCES category(id)
);
CREATE TABLE customer (
  id INTEGER PRIMARY KEY,
  first_name VARCHAR(40) NOT NULL,
  last_name VARCHAR(40) NOT NULL,
  email VARCHAR(120) NOT NULL UNIQUE,
  phone VARCHAR(30),
  city VARCHAR(60),
  country VARCHAR(60),
  birth_date DATE CHECK (birth_date >= '1920-01-01'),
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
CREATE TABLE product (
  id INTEGER PRIMARY KEY,
  sku CHAR(10) NOT NULL UNIQUE,
  name VARCHAR(80) NOT NULL,
  category_id INTEGER NOT NULL REFERENCES category(id),
  price NUMERIC(8, 2) NOT NULL CHECK (price > 0),
  stock INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE TABLE "order" (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customer(id),
  status VARCHAR(10) NOT NULL CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
  ordered_at TIMESTAMP NOT NULL,
  shipped_at TIMESTAMP,
  total NUMERIC(10, 2) NOT NULL CHECK (total >= 0),
  CHECK (ordered_at <= shipped_at)
);
CREATE TABLE order_item (
  order_id INTEGER NOT NULL REFERENCES "order"(id),
  product_id INTEGER NOT NULL REFERENCES product(id),
  quantity INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 20),
  unit_price NUMERIC(8, 2) NOT NULL CHECK (unit_price > 0),
  PRIMARY KEY (order_id, product_id)
);
