// A CommonJS consumer: boots a Nest app that uses the packed build, against REDIS_URL.
const { Module, Controller, Get, Post, Body, HttpCode } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
require('reflect-metadata');
const kit = require('nestjs-llm-kit');
const { boot } = require('./scenario.cjs');

boot({ Module, Controller, Get, Post, Body, HttpCode, NestFactory }, kit, 'cjs').catch((error) => {
  console.error(error);
  process.exit(1);
});
