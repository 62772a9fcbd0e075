//! The benchmark's own read floor: an actix-web handler that does one primary-key SELECT
//! through diesel-async with a pool of 4, and nothing else (no middleware, no logging). It
//! belongs to the benchmark, not the product, so that the floor cannot move when the product
//! does. `tests/bench/run.sh` builds it in release and starts it with
//! `floor <listen address> <database URL>` on a database that `pgbench -i` filled.

use actix_web::{App, HttpResponse, HttpServer, web};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

diesel::table! {
    pgbench_accounts (aid) {
        aid -> Integer,
        bid -> Integer,
        abalance -> Integer,
    }
}

/// `pgbench -i -s 10` holds this many accounts.
const ACCOUNTS: i32 = 1_000_000;

async fn balance(pool: web::Data<Pool<AsyncPgConnection>>) -> HttpResponse {
    let aid = rand::random_range(1..=ACCOUNTS);
    let Ok(mut conn) = pool.get().await else {
        return HttpResponse::ServiceUnavailable().finish();
    };
    let found: QueryResult<i32> = pgbench_accounts::table
        .find(aid)
        .select(pgbench_accounts::abalance)
        .first(&mut conn)
        .await;
    match found {
        Ok(abalance) => {
            HttpResponse::Ok().json(serde_json::json!({ "aid": aid, "abalance": abalance }))
        }
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(url)) = (args.next(), args.next()) else {
        eprintln!("usage: floor <listen address> <database URL>");
        std::process::exit(2);
    };
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    let Ok(pool) = Pool::builder(manager).max_size(4).build() else {
        eprintln!("cannot build the pool");
        std::process::exit(1);
    };
    let pool = web::Data::new(pool);
    HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .route("/", web::get().to(balance))
    })
    .bind(addr)?
    .run()
    .await
}
